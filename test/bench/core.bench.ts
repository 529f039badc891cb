// Core benchmark: the platform vs raw BullMQ in the same run.
//  1. worker throughput: raw BullMQ no-op Worker (its own process, raw-worker.mjs) vs our `worker` process running diagnostics.noop through the full
//     wrapper (metrics and tracing hooks included), with and without a log line per job
//  2. enqueue throughput: raw Queue.addBulk vs POST /v1/jobs/bulk to a real web process
//  3. latency: single POST /v1/jobs at a steady 1,000/s to real web + worker processes → handler start, p50/p99
// BENCH_CORE=worker,enqueue,latency runs only the named parts (profiling one at a time); `drain` is `worker`
// without the info and tsx variants.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Agent, request } from 'node:http';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { type JobsOptions, Queue } from 'bullmq';
import { pino } from 'pino';
import { BullmqEngine } from '../../core/engines/bullmq/engine.ts';
import { createRedis, deleteKeysWithPrefix } from '../../core/engines/bullmq/redis.ts';
import { generateApiKey } from '../../producers/auth.ts';
import { toEnqueueRequest, validateJob } from '../../producers/enqueue.ts';
import { queueNames } from '../../workers/catalog.ts';
import { loadConfig } from '../../workers/config.ts';
import type { BenchContext, BenchRow } from './types.ts';

const logger = pino({ level: 'warn' });
const CONCURRENCY = 50;

const drop = deleteKeysWithPrefix;

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? Number.NaN;
};

function platform(url: string, prefix: string) {
  const config = loadConfig({
    REDIS_URL: url,
    QUEUE_PREFIX: prefix,
    LOG_LEVEL: 'warn',
    API_RATE_LIMIT_RPS: '1000000',
    BULK_MAX_JOBS: '1000',
    // the raw side keeps every completed job (age-only retention); so do we, or the completed count would cap
    RETENTION_COMPLETED_COUNT: '10000000',
  });
  const engine = new BullmqEngine({
    redisUrl: url,
    prefix,
    logger,
    idempotencyTtlSeconds: 3600,
    queues: queueNames,
    worker: { lockDurationMs: 30_000, stalledIntervalMs: 30_000, maxStalledCount: 2 },
  });
  return { config, engine };
}

/**
 * Wait until `n` jobs completed, then return the drain rate from the completed set's scores (finish times):
 * (n - 1) / (last finish - first finish). Start-up, polling and pause/resume do not enter the figure.
 */
async function drainRate(url: string, prefix: string, q: Queue, n: number, deadlineMs = 300_000): Promise<number> {
  const until = Date.now() + deadlineMs;
  for (;;) {
    const c = await q.getCompletedCount();
    if (c >= n) break;
    if (Date.now() > until) throw new Error(`only ${c} of ${n} completed`);
    await new Promise((r) => setTimeout(r, 20));
  }
  const client = createRedis(url, 'probe');
  const key = `${prefix}:${q.name}:completed`;
  const [, first] = await client.zrange(key, 0, 0, 'WITHSCORES');
  const [, last] = await client.zrange(key, -1, -1, 'WITHSCORES');
  client.disconnect();
  return (n - 1) / ((Number(last) - Number(first)) / 1000);
}

// the raw side stores jobs with the options Conveyor gives them (attempts, backoff, retention, priority)
const jobOpts: JobsOptions = {
  attempts: 5,
  backoff: { type: 'exponential', delay: 1000 },
  removeOnComplete: { age: 86_400, count: 10_000_000 },
  removeOnFail: { age: 604_800, count: 50_000 },
  priority: 5,
};

/**
 * Raw BullMQ as its own process (test/bench/raw-worker.mjs: a no-op Worker, nothing else), so both sides of
 * the drain pay the same process boundary and BENCH_CPU_PROF profiles both. Jobs carry the options Conveyor
 * gives its jobs (jobOpts) and are added beforehand with Queue.addBulk.
 */
async function rawWorker(url: string, n: number): Promise<number> {
  const prefix = `cvbench-raw-${randomBytes(3).toString('hex')}`;
  const conn = createRedis(url, 'producer');
  const q = new Queue('default', { connection: conn, prefix });
  for (let i = 0; i < n; i += 1000) {
    await q.addBulk(Array.from({ length: Math.min(1000, n - i) }, () => ({ name: 'noop', data: {}, opts: jobOpts })));
  }
  const child = spawn(process.execPath, [...profArgs('raw-worker'), 'test/bench/raw-worker.mjs', url, prefix, String(CONCURRENCY)], {
    cwd: fileURLToPath(new URL('../..', import.meta.url)),
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  try {
    return await drainRate(url, prefix, q, n);
  } finally {
    await stop(child);
    await q.close();
    conn.disconnect();
    await drop(url, prefix);
  }
}

/**
 * Our worker as the Procfile runs it: a `worker` process with its metrics and tracing hooks and per-job logs
 * at `logLevel` (stdout discarded), draining jobs the bench enqueued beforehand through the engine.
 */
async function ourWorker(url: string, n: number, logLevel: string, runtime: Runtime = 'dist'): Promise<number> {
  const prefix = `cvbench-ours-${randomBytes(3).toString('hex')}`;
  const { config, engine } = platform(url, prefix);
  const v = validateJob({ name: 'diagnostics.noop', data: {} });
  if (!v.ok) throw new Error('bad bench job');
  for (let i = 0; i < n; i += 1000) {
    await engine.enqueueMany(Array.from({ length: Math.min(1000, n - i) }, () => toEnqueueRequest(v.job, config)));
  }
  const worker = spawnProcess(
    'worker',
    { ...processEnv(url, prefix, generateApiKey().sha256, 0), LOG_LEVEL: logLevel },
    () => false,
    runtime,
  );
  worker.up.catch(() => {}); // no readiness line needed: the rate comes from the finish times
  try {
    return await drainRate(url, prefix, engine.queue('default'), n);
  } finally {
    await stop(worker.child);
    await engine.close();
    await drop(url, prefix);
  }
}

async function rawAddBulk(url: string, n: number): Promise<number> {
  const prefix = `cvbench-rawadd-${randomBytes(3).toString('hex')}`;
  const conn = createRedis(url, 'producer');
  const q = new Queue('default', { connection: conn, prefix });
  const t0 = performance.now();
  for (let i = 0; i < n; i += 1000) {
    await q.addBulk(
      Array.from({ length: Math.min(1000, n - i) }, (_, k) => ({ name: 'diagnostics.noop', data: { note: `n${i + k}` }, opts: jobOpts })),
    );
  }
  const rate = n / ((performance.now() - t0) / 1000);
  await q.close();
  conn.disconnect();
  await drop(url, prefix);
  return rate;
}

export type Runtime = 'dist' | 'tsx';

/**
 * The command line of a Conveyor process: `dist` is what the Procfile runs (`node dist/processes/<mode>.js`,
 * from `npm run build`, which `npm run bench` runs first), `tsx` what development runs. BENCH_CPU_PROF=<dir>
 * adds `--cpu-prof` (one .cpuprofile per process, written on exit).
 */
function processArgv(mode: string, runtime: Runtime): string[] {
  const prof = profArgs(`${mode}-${runtime}`);
  return runtime === 'dist' ? [...prof, `dist/processes/${mode}.js`] : [...prof, '--import', 'tsx', `processes/${mode}.ts`];
}

function profArgs(name: string): string[] {
  const dir = process.env.BENCH_CPU_PROF;
  return dir ? ['--cpu-prof', `--cpu-prof-dir=${dir}`, `--cpu-prof-name=${name}-${Date.now()}.cpuprofile`] : [];
}

/** Spawn a real Conveyor process and resolve once its log says `ready`. */
function spawnProcess(
  mode: string,
  env: Record<string, string>,
  ready: (line: Record<string, unknown>) => boolean,
  runtime: Runtime = 'dist',
) {
  const child = spawn(process.execPath, processArgv(mode, runtime), {
    cwd: fileURLToPath(new URL('../..', import.meta.url)),
    env: { ...process.env, NODE_ENV: 'test', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const up = new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      try {
        if (ready(JSON.parse(line))) resolve();
      } catch {}
    });
    child.once('exit', (code) => reject(new Error(`${mode} exited with ${code} before it was ready`)));
  });
  return { child, up };
}

function processEnv(url: string, prefix: string, keySha: string, port: number) {
  return {
    REDIS_URL: url,
    QUEUE_PREFIX: prefix,
    PORT: String(port),
    HOST: '127.0.0.1',
    API_KEYS: JSON.stringify([{ name: 'bench', sha256: keySha, scopes: ['admin'] }]),
    API_RATE_LIMIT_RPS: '1000000',
    BULK_MAX_JOBS: '1000',
    RETENTION_COMPLETED_COUNT: '10000000',
    WORKER_QUEUES: `default:${CONCURRENCY}`,
  };
}

async function stop(...children: ChildProcess[]) {
  for (const c of children) c.kill('SIGTERM');
  await Promise.all(children.map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : undefined)));
}

/** POST /v1/jobs/bulk to a real `web` process; the bench process only sends bodies it serialised beforehand. */
async function httpBulk(url: string, n: number): Promise<number> {
  const prefix = `cvbench-http-${randomBytes(3).toString('hex')}`;
  const key = generateApiKey();
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  const web = spawnProcess('web', processEnv(url, prefix, key.sha256, port), (l) => String(l.msg ?? '').startsWith('web listening'));
  try {
    await web.up;
    const base = `http://127.0.0.1:${port}`;
    const headers = { authorization: `Bearer ${key.key}`, 'content-type': 'application/json' };
    const bodies = Array.from({ length: Math.ceil(n / 1000) }, (_, b) =>
      JSON.stringify({
        jobs: Array.from({ length: Math.min(1000, n - b * 1000) }, (_, k) => ({
          name: 'diagnostics.noop',
          data: { note: `n${b * 1000 + k}` },
        })),
      }),
    );
    await fetch(`${base}/v1/queues`, { headers }).then((r) => r.arrayBuffer()); // warm up
    const t0 = performance.now();
    for (const body of bodies) {
      const res = await fetch(`${base}/v1/jobs/bulk`, { method: 'POST', headers, body });
      if (res.status !== 202) throw new Error(`bulk answered ${res.status}: ${await res.text()}`);
      await res.arrayBuffer();
    }
    return n / ((performance.now() - t0) / 1000);
  } finally {
    await stop(web.child);
    await drop(url, prefix);
  }
}

/**
 * POST `body` over a pool of keep-alive connections (as a real client's pool: at 1,000/s an unbounded
 * fetch opens sockets faster than the web accepts them and some are reset). Resolves with the answer's JSON.
 */
function postJson(agent: Agent, port: number, path: string, headers: Record<string, string>, body: string): Promise<{ id: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ agent, host: '127.0.0.1', port, path, method: 'POST', headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        try {
          resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as { id: string });
        } catch (err) {
          reject(err);
        }
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * Single POST /v1/jobs at a steady rate against real `web` and `worker` processes (as the Procfile runs
 * them); the bench process only sends. Latency = the job's processedOn (set by the worker as it takes the
 * job, right before the handler) minus the client's send time; both clocks are this machine's.
 */
async function latency(
  url: string,
  rate: number,
  seconds: number,
): Promise<{ p50: number; p99: number; n: number; failed: number; parts: string }> {
  const prefix = `cvbench-lat-${randomBytes(3).toString('hex')}`;
  const key = generateApiKey();
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  const env = processEnv(url, prefix, key.sha256, port);
  const web = spawnProcess('web', { ...env, LOG_LEVEL: 'info' }, (l) => String(l.msg ?? '').startsWith('web listening'));
  const worker = spawnProcess('worker', env, (l) => l.msg === 'consuming');
  const conn = createRedis(url, 'probe');
  const q = new Queue('default', { connection: conn, prefix });
  try {
    await Promise.all([web.up, worker.up]);
    const headers = { authorization: `Bearer ${key.key}`, 'content-type': 'application/json' };
    const gap = 1000 / rate;
    const agent = new Agent({ keepAlive: true, maxSockets: 64 });
    let failed = 0;
    /** `count` single POSTs at `rate`, sent on their slot whatever the answers do (an open-loop load) */
    const paced = async (count: number, tag: string) => {
      const sent: { id: Promise<string | undefined>; at: number; answered?: number }[] = [];
      const t0 = performance.now();
      for (let i = 0; i < count; i++) {
        const wait = t0 + i * gap - performance.now();
        if (wait > 1) await new Promise((r) => setTimeout(r, wait));
        const s: (typeof sent)[number] = { id: Promise.resolve(undefined), at: Date.now() };
        s.id = postJson(agent, port, '/v1/jobs', headers, JSON.stringify({ name: 'diagnostics.noop', data: { note: `${tag}${i}` } })).then(
          (b) => {
            s.answered = Date.now();
            return b.id;
          },
          () => {
            failed++;
            return undefined;
          },
        );
        sent.push(s);
      }
      await Promise.all(sent.map((s) => s.id));
      return sent;
    };
    // Warm-up at the same rate over the same connections: the first second or two after a process starts
    // runs unoptimised code and opens the pool's sockets (its p99 is hundreds of ms). It is reported on
    // its own, not mixed into the steady-state figure the target is about.
    const warm = await paced(rate * WARMUP_SECONDS, 'w');
    const warmP99 = pct(
      warm.flatMap((s) => (s.answered === undefined ? [] : [s.answered - s.at])),
      99,
    );
    const warmFailed = failed;
    failed = 0;
    const sent = await paced(rate * seconds, 'j');
    const lat: number[] = [];
    const split = { added: [] as number[], picked: [] as number[], answered: [] as number[] };
    const until = Date.now() + 30_000;
    for (const s of sent) {
      const id = await s.id;
      if (id === undefined) continue;
      for (;;) {
        const job = await q.getJob(id);
        if (job?.processedOn) {
          lat.push(job.processedOn - s.at);
          split.added.push(job.timestamp - s.at);
          split.picked.push(job.processedOn - job.timestamp);
          if (s.answered !== undefined) split.answered.push(s.answered - s.at);
          break;
        }
        if (Date.now() > until) break;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    agent.destroy();
    const p = (xs: number[]) => `p50 ${pct(xs, 50)} / p99 ${pct(xs, 99)} ms`;
    const parts = `warm-up (first ${WARMUP_SECONDS} s) send → 202 p99 ${warmP99} ms (${warmFailed} failed); then send → added ${p(split.added)}, added → handler ${p(split.picked)}, send → 202 ${p(split.answered)}`;
    return { p50: pct(lat, 50), p99: pct(lat, 99), n: lat.length, failed, parts };
  } finally {
    await stop(web.child, worker.child);
    await q.close();
    conn.disconnect();
    await drop(url, prefix);
  }
}

/** seconds of paced load before the latency part measures */
const WARMUP_SECONDS = 2;
/** single POSTs per second in the latency part (issue 13: p99 ≤ 10 ms at 1,000/s); BENCH_LATENCY_RATE overrides */
const LATENCY_RATE = Number(process.env.BENCH_LATENCY_RATE ?? 1000);

export default async function core(ctx: BenchContext): Promise<BenchRow[]> {
  const n = ctx.quick ? 3_000 : 20_000;
  const rounds = ctx.quick ? 1 : 2;
  const parts = (process.env.BENCH_CORE ?? 'worker,enqueue,latency').split(',');
  const variants = parts.includes('worker');
  if (variants) parts.push('drain');
  const rows: BenchRow[] = [];
  let raw = 0;
  let ours = 0;
  let oursInfo = 0;
  let oursTsx = 0;
  for (let r = 0; parts.includes('drain') && r < rounds; r++) {
    raw = Math.max(raw, await rawWorker(ctx.redisUrl, n));
    ours = Math.max(ours, await ourWorker(ctx.redisUrl, n, 'warn'));
    if (variants) {
      oursInfo = Math.max(oursInfo, await ourWorker(ctx.redisUrl, n, 'info'));
      oursTsx = Math.max(oursTsx, await ourWorker(ctx.redisUrl, n, 'warn', 'tsx'));
    }
    ctx.log(
      `worker round ${r + 1}: raw ${raw.toFixed(0)}/s, ours ${ours.toFixed(0)}/s (LOG_LEVEL=warn), ${oursInfo.toFixed(0)}/s (info), ${oursTsx.toFixed(0)}/s (tsx)`,
    );
  }
  if (parts.includes('drain')) {
    rows.push({
      section: 'core',
      metric: `worker no-op jobs/s (worker process, c=${CONCURRENCY}, ${n} jobs, LOG_LEVEL=warn)`,
      ours,
      baseline: raw,
      unit: 'jobs/s',
      target: '≥ 1.0× raw BullMQ',
      met: ours >= raw,
    });
  }
  if (variants) {
    rows.push(
      {
        section: 'core',
        metric: 'worker no-op jobs/s, same run on tsx (development) instead of dist',
        ours: oursTsx,
        baseline: raw,
        unit: 'jobs/s',
      },
      {
        section: 'core',
        metric: 'worker no-op jobs/s, same with a log line per job (LOG_LEVEL=info)',
        ours: oursInfo,
        baseline: raw,
        unit: 'jobs/s',
      },
    );
  }
  let rawAdd = 0;
  let http = 0;
  for (let r = 0; parts.includes('enqueue') && r < rounds; r++) {
    rawAdd = Math.max(rawAdd, await rawAddBulk(ctx.redisUrl, n));
    http = Math.max(http, await httpBulk(ctx.redisUrl, n));
    ctx.log(`enqueue round ${r + 1}: raw addBulk ${rawAdd.toFixed(0)}/s, HTTP bulk ${http.toFixed(0)}/s`);
  }
  if (parts.includes('enqueue')) {
    rows.push({
      section: 'core',
      metric: `enqueue jobs/s (bulk of 1000, ${n} jobs)`,
      ours: http,
      baseline: rawAdd,
      unit: 'jobs/s',
      target: '≥ 0.9× raw addBulk',
      met: http >= 0.9 * rawAdd,
    });
  }
  if (parts.includes('latency')) {
    const lat = await latency(ctx.redisUrl, LATENCY_RATE, ctx.quick ? 2 : 10);
    ctx.log(`latency: ${lat.n} jobs (${lat.failed} requests failed), p50 ${lat.p50.toFixed(1)} ms, p99 ${lat.p99.toFixed(1)} ms`);
    ctx.log(`latency split: ${lat.parts}`);
    rows.push(
      { section: 'core', metric: `POST /v1/jobs @${LATENCY_RATE}/s → handler start p50`, ours: lat.p50, unit: 'ms' },
      {
        section: 'core',
        metric: `POST /v1/jobs @${LATENCY_RATE}/s → handler start p99`,
        ours: lat.p99,
        unit: 'ms',
        target: 'p99 ≤ 10 ms',
        met: lat.p99 <= 10 && lat.failed === 0,
      },
    );
  }
  return rows;
}
