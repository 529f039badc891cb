// Core benchmark: the platform vs raw BullMQ in the same run.
//  1. worker throughput: raw BullMQ no-op Worker vs our runtime running diagnostics.noop through the full wrapper
//  2. enqueue throughput: raw Queue.addBulk vs POST /v1/jobs/bulk
//  3. latency: single POST /v1/jobs at a steady 500/s → handler start, p50/p99
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { type JobsOptions, Queue, Worker } from 'bullmq';
import { pino } from 'pino';
import { BullmqEngine } from '../../core/bullmq/engine.ts';
import { queueNames } from '../../core/catalog.ts';
import { loadConfig } from '../../core/config.ts';
import { createRedis, deleteKeysWithPrefix } from '../../core/redis.ts';
import { createApp } from '../../producers/app.ts';
import { generateApiKey } from '../../producers/auth.ts';
import { toEnqueueRequest, validateJob } from '../../producers/enqueue.ts';
import { handlers } from '../../workers/handlers/index.ts';
import { startWorkers } from '../../workers/runtime.ts';
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

async function waitCompleted(q: Queue, n: number, deadlineMs = 300_000) {
  const until = Date.now() + deadlineMs;
  for (;;) {
    const c = await q.getCompletedCount();
    if (c >= n) return;
    if (Date.now() > until) throw new Error(`only ${c} of ${n} completed`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const jobOpts: JobsOptions = {
  attempts: 5,
  backoff: { type: 'exponential', delay: 1000 },
  removeOnComplete: { age: 86_400 },
  removeOnFail: { age: 604_800 },
  priority: 5,
};

async function rawWorker(url: string, n: number): Promise<number> {
  const prefix = `cvbench-raw-${randomBytes(3).toString('hex')}`;
  const conn = createRedis(url, 'producer');
  const q = new Queue('default', { connection: conn, prefix });
  for (let i = 0; i < n; i += 1000) {
    await q.addBulk(Array.from({ length: Math.min(1000, n - i) }, () => ({ name: 'noop', data: {}, opts: jobOpts })));
  }
  const t0 = performance.now();
  const w = new Worker('default', async () => null, { connection: createRedis(url, 'worker'), prefix, concurrency: CONCURRENCY });
  await waitCompleted(q, n);
  const secs = (performance.now() - t0) / 1000;
  await w.close();
  await q.close();
  conn.disconnect();
  await drop(url, prefix);
  return n / secs;
}

async function ourWorker(url: string, n: number): Promise<number> {
  const prefix = `cvbench-ours-${randomBytes(3).toString('hex')}`;
  const { config, engine } = platform(url, prefix);
  const v = validateJob({ name: 'diagnostics.noop', data: {} });
  if (!v.ok) throw new Error('bad bench job');
  for (let i = 0; i < n; i += 1000) {
    await engine.enqueueMany(Array.from({ length: Math.min(1000, n - i) }, () => toEnqueueRequest(v.job, config)));
  }
  const t0 = performance.now();
  const rt = startWorkers({ engine, logger, handlers, queues: { default: CONCURRENCY } });
  await waitCompleted(engine.queue('default'), n);
  const secs = (performance.now() - t0) / 1000;
  await rt.close(5_000);
  await engine.close();
  await drop(url, prefix);
  return n / secs;
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

async function withServer<T>(
  url: string,
  prefix: string,
  fn: (base: string, key: string, p: ReturnType<typeof platform>) => Promise<T>,
): Promise<T> {
  const p = platform(url, prefix);
  const key = generateApiKey();
  const redis = createRedis(url, 'web');
  const app = createApp({ ...p, logger, redis, apiKeys: [{ name: 'bench', sha256: key.sha256, scopes: ['admin'] }] });
  const server = app.listen(0, '127.0.0.1');
  await new Promise<void>((r) => server.once('listening', () => r()));
  try {
    return await fn(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, key.key, p);
  } finally {
    server.closeAllConnections();
    server.close();
    await p.engine.close();
    redis.disconnect();
    await drop(url, prefix);
  }
}

async function httpBulk(url: string, n: number): Promise<number> {
  return withServer(url, `cvbench-http-${randomBytes(3).toString('hex')}`, async (base, key) => {
    const t0 = performance.now();
    for (let i = 0; i < n; i += 1000) {
      const jobs = Array.from({ length: Math.min(1000, n - i) }, (_, k) => ({ name: 'diagnostics.noop', data: { note: `n${i + k}` } }));
      const res = await fetch(`${base}/v1/jobs/bulk`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ jobs }),
      });
      if (res.status !== 202) throw new Error(`bulk answered ${res.status}: ${await res.text()}`);
      await res.arrayBuffer();
    }
    return n / ((performance.now() - t0) / 1000);
  });
}

async function latency(url: string, rate: number, seconds: number): Promise<{ p50: number; p99: number; n: number }> {
  return withServer(url, `cvbench-lat-${randomBytes(3).toString('hex')}`, async (base, key, p) => {
    const sent = new Map<string, number>();
    const lat: number[] = [];
    const rt = startWorkers({
      engine: p.engine,
      logger,
      handlers: {
        'diagnostics.noop': async (payload) => {
          const t = sent.get(payload.note ?? '');
          if (t !== undefined) lat.push(performance.now() - t);
          return null;
        },
      },
      queues: { default: CONCURRENCY },
    });
    // warm up the connection pool and the worker
    await fetch(`${base}/v1/queues`, { headers: { authorization: `Bearer ${key}` } }).then((r) => r.arrayBuffer());
    const n = rate * seconds;
    const gap = 1000 / rate;
    const t0 = performance.now();
    const inflight: Promise<unknown>[] = [];
    for (let i = 0; i < n; i++) {
      const due = t0 + i * gap;
      const wait = due - performance.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      const note = `j${i}`;
      sent.set(note, performance.now());
      inflight.push(
        fetch(`${base}/v1/jobs`, {
          method: 'POST',
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          body: JSON.stringify({ name: 'diagnostics.noop', data: { note } }),
        }).then((r) => r.arrayBuffer()),
      );
    }
    await Promise.all(inflight);
    const until = Date.now() + 30_000;
    while (lat.length < n && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    await rt.close(5_000);
    return { p50: pct(lat, 50), p99: pct(lat, 99), n: lat.length };
  });
}

export default async function core(ctx: BenchContext): Promise<BenchRow[]> {
  const n = ctx.quick ? 3_000 : 20_000;
  const rounds = ctx.quick ? 1 : 2;
  let raw = 0;
  let ours = 0;
  for (let r = 0; r < rounds; r++) {
    raw = Math.max(raw, await rawWorker(ctx.redisUrl, n));
    ours = Math.max(ours, await ourWorker(ctx.redisUrl, n));
    ctx.log(`worker round ${r + 1}: raw ${raw.toFixed(0)}/s, ours ${ours.toFixed(0)}/s`);
  }
  let rawAdd = 0;
  let http = 0;
  for (let r = 0; r < rounds; r++) {
    rawAdd = Math.max(rawAdd, await rawAddBulk(ctx.redisUrl, n));
    http = Math.max(http, await httpBulk(ctx.redisUrl, n));
    ctx.log(`enqueue round ${r + 1}: raw addBulk ${rawAdd.toFixed(0)}/s, HTTP bulk ${http.toFixed(0)}/s`);
  }
  const lat = await latency(ctx.redisUrl, 500, ctx.quick ? 2 : 10);
  ctx.log(`latency: ${lat.n} jobs, p50 ${lat.p50.toFixed(1)} ms, p99 ${lat.p99.toFixed(1)} ms`);
  return [
    {
      section: 'core',
      metric: `worker no-op jobs/s (c=${CONCURRENCY}, ${n} jobs)`,
      ours,
      baseline: raw,
      unit: 'jobs/s',
      target: '≥ 1.0× raw BullMQ',
      met: ours >= raw,
    },
    {
      section: 'core',
      metric: `enqueue jobs/s (bulk of 1000, ${n} jobs)`,
      ours: http,
      baseline: rawAdd,
      unit: 'jobs/s',
      target: '≥ 0.8× raw addBulk',
      met: http >= 0.8 * rawAdd,
    },
    { section: 'core', metric: 'POST /v1/jobs @500/s → handler start p50', ours: lat.p50, unit: 'ms' },
    {
      section: 'core',
      metric: 'POST /v1/jobs @500/s → handler start p99',
      ours: lat.p99,
      unit: 'ms',
      target: 'p99 ≤ 15 ms',
      met: lat.p99 <= 15,
    },
  ];
}
