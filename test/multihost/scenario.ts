// One engine's run across the hosts: release, then web + scheduler + two workers; traffic and schedules; a phase
// with two worker hosts, SIGKILL of every process on worker-1, a phase with one, worker-3 boots and joins, a phase
// with two again; then the traffic stops, the schedules pause, and the run waits for every acknowledged job.
import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { Hosts } from './hosts.ts';
import { killAllIn } from './netns.ts';
import { readLog, sleep, tail, within } from './procs.ts';
import { type Check, checksFor, type Phase, type PhaseRow, phaseRows } from './report.ts';
import { createSchedules, expectedSlots, pauseSchedules } from './schedules.ts';
import { type EngineName, hostNamed, type Plan, urls } from './topology.ts';
import { Traffic } from './traffic.ts';
import { Api, caughtMail, completionsFromLogs, type JobView, settle } from './verify.ts';

export interface EngineResult {
  engine: EngineName;
  wallMs: number;
  phases: PhaseRow[];
  checks: Check[];
  facts: Record<string, string | number>;
}

const BOOT_TIMEOUT_MS = 180_000;
const DRAIN_ROW_MS = 30_000;

async function boot(hosts: Hosts, facts: Record<string, string | number>, log: (s: string) => void) {
  const release = hosts.start(hostNamed('web'), 'release');
  const r = await within(release.exited, BOOT_TIMEOUT_MS, 'the release process');
  if (r.code !== 0) throw new Error(`release exited ${r.code ?? r.signal}:\n${tail(release.log)}`);
  facts['release ms'] = Date.now() - release.startedAt;
  const web = hosts.start(hostNamed('web'), 'web');
  const scheduler = hosts.start(hostNamed('scheduler'), 'scheduler');
  const w1 = hosts.start(hostNamed('worker-1'), 'worker');
  const w2 = hosts.start(hostNamed('worker-2'), 'worker');
  const ready = await Promise.all([
    hosts.webReady(web, BOOT_TIMEOUT_MS),
    hosts.schedulerReady(scheduler, BOOT_TIMEOUT_MS),
    hosts.workerReady(w1, BOOT_TIMEOUT_MS),
    hosts.workerReady(w2, BOOT_TIMEOUT_MS),
  ]);
  facts['boot ms (web, scheduler, worker-1, worker-2, started together)'] = ready.join(', ');
  log(`  up: release ${facts['release ms']} ms; web ${ready[0]} ms, scheduler ${ready[1]} ms, workers ${ready[2]}/${ready[3]} ms`);
}

interface Timeline {
  phases: Phase[];
  killAt: number;
  stoppedAt: number;
}

/** traffic on; two workers; kill worker-1; one worker; worker-3 boots and joins; traffic off */
async function timeline(
  hosts: Hosts,
  traffic: Traffic,
  plan: Plan,
  facts: Record<string, string | number>,
  log: (s: string) => void,
): Promise<Timeline> {
  const phases: Phase[] = [];
  const phase = async (name: string, workers: string[], until: Promise<unknown>) => {
    const start = Date.now();
    log(`  phase "${name}" (${workers.join(', ')})`);
    await until;
    phases.push({ name, workers, start, end: Date.now() });
  };
  const seconds = (n: number) => sleep(Math.round(n * plan.scale * 1000));
  traffic.start();
  await phase('2 worker hosts', ['worker-1', 'worker-2'], seconds(10));
  facts['worker-1 SIGKILLed pids'] = killAllIn(hostNamed('worker-1').ns).join(' ');
  const killAt = Date.now();
  await phase('worker-1 killed', ['worker-2'], seconds(8));
  const w3 = hosts.start(hostNamed('worker-3'), 'worker');
  await phase(
    'worker-3 booting',
    ['worker-2'],
    hosts.workerReady(w3, BOOT_TIMEOUT_MS).then((ms) => {
      facts['worker-3 start → consuming ms'] = ms;
    }),
  );
  await phase('worker-3 consuming', ['worker-2', 'worker-3'], seconds(10));
  await traffic.stop();
  return { phases, killAt, stoppedAt: Date.now() };
}

/** after the traffic: the first 30 s, then whatever finished later (retries held back) as a tail row */
function drainPhases(stoppedAt: number, views: Map<string, JobView | null>): Phase[] {
  const workers = ['worker-2', 'worker-3'];
  const last = Math.max(stoppedAt, ...[...views.values()].map((v) => (v?.finishedAt ? Date.parse(v.finishedAt) : 0)));
  const cut = Math.min(last, stoppedAt + DRAIN_ROW_MS);
  const out: Phase[] = [{ name: 'drain (no traffic)', workers, start: stoppedAt, end: cut }];
  if (last > cut) out.push({ name: 'tail (later finishes)', workers, start: cut, end: last });
  return out;
}

export async function runEngine(plan: Plan, engine: EngineName, log: (s: string) => void): Promise<EngineResult> {
  const started = Date.now();
  const key = `mh_${randomBytes(24).toString('hex')}`;
  const hosts = new Hosts(plan.root, join(plan.tmp, 'logs'), join(plan.tmp, 'data'), {
    engine,
    prefix: `mh-${engine}`,
    apiKeySha256: createHash('sha256').update(key).digest('hex'),
  });
  const api = new Api(key);
  const facts: Record<string, string | number> = {};
  try {
    log(`▶ ${engine}: release, then web, scheduler, worker-1, worker-2 (load average ${loadavg()[0]?.toFixed(1)})`);
    await boot(hosts, facts, log);
    const mailBefore = (await caughtMail()).length; // the catcher serves every engine's run
    const schedules = await createSchedules(api);
    const traffic = new Traffic(urls.web(), key, plan.rate, { max: plan.maxBacklog, read: () => api.pending() });
    const t = await timeline(hosts, traffic, plan, facts, log);
    await pauseSchedules(api, schedules);
    log(`  traffic stopped: ${traffic.acked.size} jobs acknowledged; waiting for all to finish`);
    const slots = expectedSlots(schedules);
    const acked = [...traffic.acked.values()];
    // a job that was sending mail on worker-1 waits out the email send lease (2 min) before it runs again
    const views = await settle(
      api,
      [...traffic.acked.keys(), ...slots.map((x) => x.id)],
      Date.now() + Math.max(plan.scale * 90_000, 180_000),
      log,
    );
    const mail = (await caughtMail()).slice(mailBefore);
    writeFileSync(join(plan.tmp, 'logs', `${engine}-mail.json`), JSON.stringify(mail));
    const workerLogs = hosts.procs.filter((p) => p.type === 'worker').map((p) => ({ host: p.host.name, file: p.log }));
    const checks = checksFor({
      acked,
      slots,
      views,
      runs: completionsFromLogs(workerLogs),
      mail,
      stats: traffic.stats,
      killAt: t.killAt,
      facts,
    });
    heldBack(workerLogs, facts);
    const stop = await hosts.stopAll(15_000);
    checks.push({
      what: 'clean stop on SIGTERM (web, scheduler, worker-2, worker-3)',
      ok: stop.killed.length === 0 && Object.values(stop.codes).every((c) => c === 0),
      detail: `exit codes ${JSON.stringify(stop.codes)} after ${stop.ms} ms${stop.killed.length ? `; needed SIGKILL: ${stop.killed.join(', ')}` : ''}`,
    });
    const phases = phaseRows([...t.phases, ...drainPhases(t.stoppedAt, views)], acked, views, traffic.held);
    facts['load average (1, 5, 15 min) at the end'] = loadavg()
      .map((x) => x.toFixed(1))
      .join(', ');
    return { engine, wallMs: Date.now() - started, phases, checks, facts };
  } finally {
    await hosts.stopAll(3_000);
  }
}

/** retries the workers logged with a reason, counted by reason (e.g. the email send lease of the killed run) */
function heldBack(logs: { file: string }[], facts: Record<string, string | number>) {
  const reasons: Record<string, number> = {};
  for (const { file } of logs) {
    for (const l of readLog(file)) {
      if (l.msg !== 'job failed') continue;
      const m = String((l.err as { message?: string } | undefined)?.message ?? '').replace(/\d+/g, 'N');
      reasons[m] = (reasons[m] ?? 0) + 1;
    }
  }
  facts['job failures logged by workers, by message'] = JSON.stringify(reasons);
}
