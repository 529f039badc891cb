// `npm run multihost`: Conveyor across several hosts on this one machine. Builds one network namespace per host
// on a private bridge (test/multihost/topology.ts), starts the service hosts (redis-server, a PostgreSQL cluster,
// an SMTP catcher), then runs the driver on the load host, which boots web, scheduler and worker hosts from the
// Procfile for each engine, runs mixed traffic, kills a worker host and adds one, and checks nothing was lost.
// Everything (processes, namespaces, bridge, temp dir) is torn down at the end, on failure and on Ctrl-C too.
//
//   MULTIHOST_ENGINES=bullmq,pgboss   which engines, in order (default both)
//   MULTIHOST_SCALE=1                 multiplies every phase and the drain deadline (e.g. 5 for a longer run)
//   MULTIHOST_RATE=200                offered jobs per second over HTTP
//   MULTIHOST_MAX_BACKLOG=1500        unfinished jobs above which the load generator holds off (backpressure)
//   MULTIHOST_KEEP_LOGS=1             copy every host's log to test-artifacts/multihost/ (always done on failure)
// Needs root (namespaces) and Linux; not part of `npm test`.
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { prepareTmp, type Services, startServices } from './infra.ts';
import { buildNetwork, checkIsolation, destroyNetwork, haveIp, ourNamespaces } from './netns.ts';
import { tail, within } from './procs.ts';
import { type EngineName, hostNamed, type Plan } from './topology.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const LOCK = '/run/conveyor-multihost.lock';
const startedAt = Date.now();
const say = (line: string) => console.error(`[multihost ${((Date.now() - startedAt) / 1000).toFixed(1)}s] ${line}`);

function options(): Omit<Plan, 'tmp' | 'root' | 'artifacts'> {
  const engines = (process.env.MULTIHOST_ENGINES ?? 'bullmq,pgboss').split(',').map((e) => e.trim()) as EngineName[];
  if (engines.some((e) => e !== 'bullmq' && e !== 'pgboss'))
    throw new Error(`MULTIHOST_ENGINES: expects bullmq and/or pgboss, got ${engines}`);
  const scale = Number(process.env.MULTIHOST_SCALE ?? '1');
  if (!(scale > 0 && scale <= 100)) throw new Error('MULTIHOST_SCALE: expects a number above 0, at most 100');
  const rate = Number(process.env.MULTIHOST_RATE ?? '200');
  if (!(rate >= 1 && rate <= 100_000)) throw new Error('MULTIHOST_RATE: expects jobs per second, 1 to 100000');
  const maxBacklog = Number(process.env.MULTIHOST_MAX_BACKLOG ?? '1500');
  if (!(maxBacklog >= 10)) throw new Error('MULTIHOST_MAX_BACKLOG: expects a number of jobs, at least 10');
  return { engines, scale, rate, maxBacklog };
}

function aptInstall(pkg: string) {
  say(`installing ${pkg} (apt-get)`);
  spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
  const r = spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', pkg], {
    stdio: 'inherit',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  if (r.status !== 0) throw new Error(`apt-get install ${pkg} failed`);
}

function prerequisites() {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) {
    console.error('npm run multihost needs Linux and root (it creates network namespaces)');
    process.exit(77);
  }
  if (!haveIp()) aptInstall('iproute2');
  if (spawnSync('redis-server', ['--version']).status !== 0) aptInstall('redis-server');
}

/** one run at a time; a lock left by a run that died is taken over and its leftovers removed */
async function takeLock(): Promise<void> {
  if (existsSync(LOCK)) {
    const held = JSON.parse(readFileSync(LOCK, 'utf8')) as { pid: number; tmp?: string };
    if (existsSync(`/proc/${held.pid}`)) throw new Error(`another multihost run (pid ${held.pid}) holds ${LOCK}`);
    say(`previous run (pid ${held.pid}) died: removing what it left`);
    if (held.tmp) rmSync(held.tmp, { recursive: true, force: true });
    unlinkSync(LOCK);
  }
  if (ourNamespaces().length) {
    const r = await destroyNetwork();
    say(`removed leftover namespaces (${r.killed} processes)`);
  }
  writeFileSync(LOCK, JSON.stringify({ pid: process.pid }), { flag: 'wx' });
}

let tornDown = false;
/** set when a signal or the time limit ended the run: it fails whatever the driver says */
let abortedWith: number | undefined;
async function teardown(tmp: string | undefined, keepLogs: boolean, services?: Services): Promise<boolean> {
  if (tornDown) return true;
  tornDown = true;
  const artifacts = join(root, 'test-artifacts', 'multihost');
  if (tmp && existsSync(tmp)) {
    mkdirSync(artifacts, { recursive: true });
    if (existsSync(join(tmp, 'result.json'))) cpSync(join(tmp, 'result.json'), join(artifacts, 'result.json'));
    if (keepLogs) {
      rmSync(join(artifacts, 'logs'), { recursive: true, force: true });
      cpSync(join(tmp, 'logs'), join(artifacts, 'logs'), { recursive: true });
      say(`logs copied to ${join(artifacts, 'logs')}`);
    }
  }
  const net = await destroyNetwork();
  if (services)
    await within(Promise.all([services.redis, services.postgres, services.mail].map((p) => p.exited)), 5_000, 'services').catch(() => {});
  if (tmp) rmSync(tmp, { recursive: true, force: true });
  if (existsSync(LOCK)) unlinkSync(LOCK);
  const clean = net.left.length === 0 && !(tmp && existsSync(tmp));
  say(
    `teardown: ${net.killed} processes killed, namespaces left: ${net.left.join(' ') || 'none'}, temp dir ${tmp && existsSync(tmp) ? 'LEFT' : 'removed'}`,
  );
  return clean;
}

async function main() {
  const opts = options();
  prerequisites();
  await takeLock();
  const tmp = mkdtempSync(join(tmpdir(), 'conveyor-multihost-'));
  writeFileSync(LOCK, JSON.stringify({ pid: process.pid, tmp }));
  let services: Services | undefined;
  let failed = true;
  const bail = (signal: string, code: number) => {
    abortedWith = code;
    say(`${signal}: tearing down`);
    void teardown(tmp, true, services).then(() => process.exit(code));
  };
  process.on('SIGINT', () => bail('SIGINT', 130));
  process.on('SIGTERM', () => bail('SIGTERM', 143));
  process.on('SIGHUP', () => bail('SIGHUP', 129));
  // a hard cap far above a normal run (≈ 1.5 min per engine on a quiet machine): boots and drains have their own deadlines
  const limitMs = opts.engines.length * (7 + 2 * opts.scale) * 60_000 + 60_000;
  const limit = setTimeout(() => bail(`run exceeded ${Math.round(limitMs / 1000)} s`, 1), limitMs);
  try {
    const { logs } = prepareTmp(tmp);
    buildNetwork();
    say(checkIsolation());
    services = startServices({ root, tmp, logs, node: process.execPath });
    say(`service hosts starting: redis-server, ${services.postgresSource}, SMTP catcher`);
    const plan: Plan = { ...opts, root, tmp, artifacts: join(root, 'test-artifacts', 'multihost') };
    const driver = spawn('ip', ['netns', 'exec', hostNamed('load').ns, process.execPath, '--import', 'tsx', 'test/multihost/driver.ts'], {
      cwd: root,
      stdio: 'inherit',
      env: { PATH: process.env.PATH, HOME: process.env.HOME ?? '/root', LANG: 'C.UTF-8', MULTIHOST_PLAN: JSON.stringify(plan) },
    });
    const code = await new Promise<number | null>((r) => driver.once('exit', (c) => r(c)));
    failed = code !== 0;
    if (failed) for (const p of [services.redis, services.postgres, services.mail]) say(`${p.label} log tail:\n${tail(p.log, 5)}`);
  } catch (err) {
    say(`failed: ${(err as Error).stack ?? err}`);
  } finally {
    clearTimeout(limit);
    const clean = await teardown(tmp, failed || process.env.MULTIHOST_KEEP_LOGS === '1', services);
    if (abortedWith !== undefined) failed = true;
    say(`${failed ? 'FAILED' : 'passed'} in ${Math.round((Date.now() - startedAt) / 1000)} s`);
    process.exit(abortedWith ?? (failed || !clean ? 1 : 0));
  }
}

void main();
