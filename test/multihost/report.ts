// What the multihost run prints: throughput per phase (from the jobs' own createdAt/finishedAt, read back over
// the API) and the checks that nothing acknowledged was lost, with duplicates of side effects counted.

import { HOSTS, hostNamed } from './topology.ts';
import type { Acked, TrafficStats } from './traffic.ts';
import { type CaughtMail, FINAL, type JobView, pct } from './verify.ts';

export interface Phase {
  name: string;
  workers: string[];
  start: number;
  end: number;
}

export interface PhaseRow {
  phase: string;
  workers: string;
  seconds: number;
  acked: number;
  ackedPerSec: number;
  finished: number;
  finishedPerSec: number;
  /** enqueue → finish of the no-op jobs enqueued in this phase */
  p50Ms: number;
  p95Ms: number;
  backlogAtEnd: number;
  /** seconds the load generator held off because the backlog was over its cap */
  heldSeconds: number;
}

export interface Check {
  what: string;
  ok: boolean;
  detail: string;
}

const ms = (iso: string | null | undefined) => (iso ? Date.parse(iso) : Number.NaN);

const overlap = (p: Phase, spans: [number, number][]) =>
  spans.reduce((sum, [a, b]) => sum + Math.max(0, Math.min(b, p.end) - Math.max(a, p.start)), 0) / 1000;

export function phaseRows(phases: Phase[], acked: Acked[], views: Map<string, JobView | null>, held: [number, number][]): PhaseRow[] {
  const finishedAt = new Map<string, number>();
  for (const a of acked) {
    const v = views.get(a.id);
    if (v && FINAL.has(v.state)) finishedAt.set(a.id, ms(v.finishedAt));
  }
  return phases.map((p) => {
    const seconds = Math.max(0.001, (p.end - p.start) / 1000);
    const inPhase = acked.filter((a) => a.ackedAt >= p.start && a.ackedAt < p.end);
    const finished = acked.filter((a) => {
      const f = finishedAt.get(a.id);
      return f !== undefined && f >= p.start && f <= p.end;
    }).length;
    const latencies = inPhase.flatMap((a) => {
      const v = views.get(a.id);
      return a.kind === 'diagnostics.noop' && v?.state === 'completed' ? [ms(v.finishedAt) - ms(v.createdAt)] : [];
    });
    const backlog = acked.filter((a) => a.ackedAt < p.end && !((finishedAt.get(a.id) ?? Number.POSITIVE_INFINITY) <= p.end)).length;
    return {
      phase: p.name,
      workers: p.workers.join(', '),
      seconds: Math.round(seconds * 10) / 10,
      acked: inPhase.length,
      ackedPerSec: Math.round(inPhase.length / seconds),
      finished,
      finishedPerSec: Math.round(finished / seconds),
      p50Ms: Math.round(pct(latencies, 50)),
      p95Ms: Math.round(pct(latencies, 95)),
      backlogAtEnd: backlog,
      heldSeconds: Math.round(overlap(p, held) * 10) / 10,
    };
  });
}

interface CheckInput {
  acked: Acked[];
  slots: { id: string; kind: string; schedule: string }[];
  views: Map<string, JobView | null>;
  runs: Map<string, string[]>;
  mail: CaughtMail[];
  stats: TrafficStats;
  killAt: number;
  facts: Record<string, string | number>;
}

function countBy<T>(xs: T[], key: (x: T) => string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const x of xs) out[key(x)] = (out[key(x)] ?? 0) + 1;
  return out;
}

export function checksFor(i: CheckInput): Check[] {
  const checks: Check[] = [];
  const state = (id: string) => i.views.get(id)?.state ?? 'unknown (404)';
  const notFinal = i.acked.filter((a) => !FINAL.has(state(a.id)));
  checks.push({
    what: 'every acknowledged job reached a final state',
    ok: notFinal.length === 0 && i.acked.length > 0,
    detail: `${i.acked.length - notFinal.length} of ${i.acked.length} final ${JSON.stringify(countBy(i.acked, (a) => state(a.id)))}${
      notFinal.length
        ? `; not final: ${notFinal
            .slice(0, 5)
            .map((a) => `${a.id} (${a.kind}, ${state(a.id)})`)
            .join(', ')}`
        : ''
    }`,
  });
  const wrong = i.acked.filter((a) => FINAL.has(state(a.id)) && state(a.id) !== a.expect);
  checks.push({
    what: 'each job ended as its payload asked (no-ops completed, permanent failures dead)',
    ok: wrong.length === 0,
    detail: wrong.length
      ? `${wrong.length} differ: ${wrong
          .slice(0, 5)
          .map((a) => `${a.id} ${a.kind} expected ${a.expect}, got ${state(a.id)}`)
          .join('; ')}`
      : `${i.acked.length} as expected`,
  });
  checks.push(slotCheck(i));
  checks.push(...mailChecks(i));
  checks.push({
    what: 'a resent idempotency key returns the first job',
    ok: i.stats.resendsSplit === 0,
    detail: `${i.stats.resendsCollapsed} of ${i.stats.resends} resends collapsed`,
  });
  checks.push({
    what: 'the web host acknowledged every request',
    ok: i.stats.failedRequests === 0,
    detail: `${i.stats.requests - i.stats.failedRequests} of ${i.stats.requests} requests${i.stats.failedRequests ? `; failures ${JSON.stringify(i.stats.errors)}` : ''}`,
  });
  recordRuns(i);
  return checks;
}

function slotCheck(i: CheckInput): Check {
  const missing = i.slots.filter((s) => !i.views.get(s.id));
  const open = i.slots.filter((s) => i.views.get(s.id) && !FINAL.has(i.views.get(s.id)?.state ?? ''));
  const per = countBy(i.slots, (s) => s.schedule);
  return {
    what: 'every schedule slot while enabled enqueued exactly one job, and it finished',
    ok: missing.length === 0 && open.length === 0 && i.slots.length > 0,
    detail: `${i.slots.length - missing.length} of ${i.slots.length} slots ${JSON.stringify(per)}${
      missing.length
        ? `; missing ${missing
            .slice(0, 5)
            .map((s) => s.id)
            .join(', ')}`
        : ''
    }${open.length ? `; unfinished ${open.length}` : ''}`,
  };
}

function mailChecks(i: CheckInput): Check[] {
  const emailIds = [
    ...i.acked.filter((a) => a.kind === 'email.send').map((a) => a.id),
    ...i.slots.filter((s) => s.kind === 'email.send').map((s) => s.id),
  ];
  const perJob = countBy(
    i.mail.filter((m) => m.jobId),
    (m) => m.jobId as string,
  );
  const completed = emailIds.filter((id) => i.views.get(id)?.state === 'completed');
  const unsent = completed.filter((id) => !perJob[id]);
  const twice = emailIds.filter((id) => (perJob[id] ?? 0) > 1);
  // killed between the SMTP server's 250 and the ledger write, a run leaves a sent mail the ledger does not know:
  // after the send lease the job sends again, with the same Message-ID (receivers can drop the copy)
  const killed = hostNamed('worker-1').address;
  const copies = (id: string) => i.mail.filter((m) => m.jobId === id);
  const crashWindow = twice.filter((id) => {
    const c = copies(id);
    return c.length === 2 && c.some((m) => m.from === killed) && new Set(c.map((m) => m.messageId)).size === 1;
  });
  const unexplained = twice.filter((id) => !crashWindow.includes(id));
  const known = new Set(emailIds);
  // slots just after creation or just before the pause are not in the expected list, but their mail is ours
  const stray = Object.keys(perJob).filter((id) => !known.has(id) && !id.startsWith('schedule-mh-'));
  i.facts['emails caught'] = `${i.mail.length} ${JSON.stringify(countBy(i.mail, (m) => hostOf(m.from)))}`;
  const list = (ids: string[]) =>
    ids
      .slice(0, 5)
      .map(
        (id) =>
          `${id} from ${copies(id)
            .map((m) => hostOf(m.from))
            .join('+')}`,
      )
      .join(', ');
  return [
    {
      what: 'every completed email.send job delivered its message to the SMTP host',
      ok: unsent.length === 0 && completed.length > 0,
      detail: `${completed.length - unsent.length} of ${completed.length} completed email jobs have a message${unsent.length ? `; none for ${unsent.slice(0, 5).join(', ')}` : ''}`,
    },
    {
      what: 'no email sent twice, except a run killed between SMTP accept and ledger write (same Message-ID)',
      ok: unexplained.length === 0 && stray.length === 0,
      detail: `${twice.length} jobs with two or more messages: ${crashWindow.length} from the kill window${crashWindow.length ? ` (${list(crashWindow)})` : ''}, ${unexplained.length} otherwise${
        unexplained.length ? ` (${list(unexplained)})` : ''
      }; ${stray.length} messages from jobs this run did not enqueue`,
    },
  ];
}

const hostOf = (address: string) => HOSTS.find((h) => h.address === address)?.name ?? address;

/** handler completions per job: more than one is an at-least-once re-run (the first run's ack was lost) */
function recordRuns(i: CheckInput) {
  const ids = [...i.acked.map((a) => a.id), ...i.slots.map((s) => s.id)];
  const again = ids.filter((id) => (i.runs.get(id)?.length ?? 0) > 1);
  // on worker-1 and again elsewhere: its completion never reached the store before the kill; twice on a live host:
  // the lock (BullMQ) or heartbeat (pg-boss) lapsed while the run was still going, so the job was handed out again
  const afterKill = again.filter((id) => i.runs.get(id)?.includes('worker-1'));
  const live = again.filter((id) => !afterKill.includes(id));
  const show = (xs: string[]) =>
    xs
      .slice(0, 3)
      .map((id) => `${id} on ${i.runs.get(id)?.join('+')}`)
      .join(', ');
  i.facts['handler completed twice or more (at-least-once re-runs)'] =
    `${again.length}: ${afterKill.length} first on worker-1${afterKill.length ? ` (${show(afterKill)})` : ''}, ${live.length} twice on live hosts${live.length ? ` (${show(live)})` : ''}`;
  const onW1 = ids.filter((id) => i.runs.get(id)?.includes('worker-1')).length;
  i.facts['jobs whose handler completed on worker-1 (before the kill)'] = onW1;
  const retried = i.acked.filter(
    (a) => a.expect === 'completed' && a.kind === 'diagnostics.noop' && (i.views.get(a.id)?.attempts?.made ?? 0) > 1,
  );
  i.facts['no-op jobs that needed more than one attempt'] = retried.length;
  // a job running on worker-1 at the kill comes back only when its lock (BullMQ) or heartbeat (pg-boss) lapses
  const recovered = i.acked.filter((a) => {
    const f = ms(i.views.get(a.id)?.finishedAt);
    return a.ackedAt < i.killAt && f > i.killAt + 8_000;
  });
  i.facts['acked before the kill, finished ≥ 8 s after it (stall recovery)'] =
    `${recovered.length} ${JSON.stringify(countBy(recovered, (a) => a.kind))}`;
}

export function formatTable(rows: Record<string, string | number>[]): string {
  if (rows.length === 0) return '';
  const cols = Object.keys(rows[0] as object);
  const width = cols.map((c) => Math.max(c.length, ...rows.map((r) => String(r[c]).length)));
  const line = (vals: string[]) => vals.map((v, k) => v.padEnd(width[k] as number)).join('  ');
  return [line(cols), line(width.map((w) => '-'.repeat(w))), ...rows.map((r) => line(cols.map((c) => String(r[c]))))].join('\n');
}
