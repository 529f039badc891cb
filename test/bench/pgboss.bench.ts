// Postgres engine benchmark, in one run on one server (DATABASE_URL or 127.0.0.1:5432/test):
//  1. no-op throughput: our pgboss engine through the full worker runtime (concurrency 50) vs raw
//     pg-boss (same version; LISTEN/NOTIFY + batch 500 + burst, its fastest setup we found) vs BullMQ's
//     own Postgres backend (createPostgresBackend, concurrency 50)
//  2. pickup latency: one job at a time at a steady rate, enqueue → handler start, p50/p99, same three
// Target from the issue: ≥ 3× pg-boss 10 with default polling (≈ 2 k jobs/s) and pickup p50 ≤ 25 ms.
import { randomBytes } from 'node:crypto';
import { createPostgresBackend, withBackend } from 'bullmq';
import pg from 'pg';
import { PgBoss } from 'pg-boss';
import { pino } from 'pino';
import { PgbossEngine } from '../../core/engines/pgboss/engine.ts';
import { toEnqueueRequest, validateJob } from '../../producers/enqueue.ts';
import { queueNames } from '../../workers/catalog.ts';
import { loadConfig } from '../../workers/config.ts';
import { startWorkers } from '../../workers/runtime.ts';
import type { BenchContext, BenchRow } from './types.ts';

const DATABASE_URL = process.env.TEST_DATABASE_URL ?? process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const logger = pino({ level: 'warn' });
const CONCURRENCY = 50;
const config = loadConfig({ REDIS_URL: 'redis://127.0.0.1:6379', LOG_LEVEL: 'warn' });

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? Number.NaN;
};
const schemaName = (label: string) => `cvbench_${label}_${randomBytes(3).toString('hex')}`;

async function dropSchema(schema: string) {
  const c = new pg.Client({ connectionString: DATABASE_URL });
  await c.connect();
  await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await c.end();
}

async function until(cond: () => boolean, deadlineMs = 300_000) {
  const end = Date.now() + deadlineMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('bench deadline passed');
    await new Promise((r) => setTimeout(r, 5));
  }
}

const noop = (() => {
  const v = validateJob({ name: 'diagnostics.noop', data: {} });
  if (!v.ok) throw new Error('bad bench job');
  return v.job;
})();

// ── ours ──────────────────────────────────────────────────────────────────────────────────────

function ourEngine(schema: string) {
  return new PgbossEngine({ databaseUrl: DATABASE_URL, schema, logger, queues: queueNames, maxConnections: 10 });
}

async function oursThroughput(n: number): Promise<number> {
  const schema = schemaName('ours');
  const engine = ourEngine(schema);
  try {
    for (let i = 0; i < n; i += 1000)
      await engine.enqueueMany(Array.from({ length: Math.min(1000, n - i) }, () => toEnqueueRequest(noop, config)));
    let done = 0;
    const t0 = performance.now();
    const rt = startWorkers({
      engine,
      logger,
      handlers: { 'diagnostics.noop': async () => void done++ },
      queues: { default: CONCURRENCY },
    });
    await until(() => done >= n);
    const rate = n / ((performance.now() - t0) / 1000);
    await rt.close(5_000);
    return rate;
  } finally {
    await engine.close();
    await dropSchema(schema);
  }
}

async function oursLatency(rate: number, seconds: number) {
  const schema = schemaName('ourslat');
  const engine = ourEngine(schema);
  const sent = new Map<string, number>();
  const lat: number[] = [];
  try {
    await engine.start();
    const rt = startWorkers({
      engine,
      logger,
      handlers: {
        'diagnostics.noop': async (p) => {
          const t = sent.get(p.note ?? '');
          if (t !== undefined) lat.push(performance.now() - t);
          return null;
        },
      },
      queues: { default: CONCURRENCY },
    });
    await steady(rate, seconds, async (i) => {
      const v = validateJob({ name: 'diagnostics.noop', data: { note: `n${i}` } });
      if (!v.ok) throw new Error('bad');
      sent.set(`n${i}`, performance.now());
      await engine.enqueue(toEnqueueRequest(v.job, config));
    });
    await until(() => lat.length >= sent.size, 30_000);
    await rt.close(5_000);
    return lat;
  } finally {
    await engine.close();
    await dropSchema(schema);
  }
}

/** `rate` sends per second for `seconds`, each awaited in the background. */
async function steady(rate: number, seconds: number, send: (i: number) => Promise<void>) {
  const total = Math.round(rate * seconds);
  const t0 = performance.now();
  const pending: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const due = t0 + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    pending.push(send(i));
  }
  await Promise.all(pending);
}

// ── raw pg-boss ───────────────────────────────────────────────────────────────────────────────

async function rawBoss(schema: string) {
  const boss = new PgBoss({ connectionString: DATABASE_URL, schema, max: 10, useListenNotify: true, schedule: false });
  boss.on('error', () => {});
  await boss.start();
  await boss.createQueue('default', { notify: true });
  return boss;
}

const rawWork = { batchSize: 500, localConcurrency: 2, burstWhenBatchFull: true } as const;

async function rawThroughput(n: number): Promise<number> {
  const schema = schemaName('raw');
  const boss = await rawBoss(schema);
  try {
    for (let i = 0; i < n; i += 1000)
      await boss.insert(
        'default',
        Array.from({ length: Math.min(1000, n - i) }, () => ({ data: {} })),
      );
    let done = 0;
    const t0 = performance.now();
    await boss.work('default', rawWork, async (jobs) => {
      done += jobs.length;
    });
    await until(() => done >= n);
    return n / ((performance.now() - t0) / 1000);
  } finally {
    await boss.stop({ graceful: false, close: true });
    await dropSchema(schema);
  }
}

async function rawLatency(rate: number, seconds: number) {
  const schema = schemaName('rawlat');
  const boss = await rawBoss(schema);
  const sent = new Map<string, number>();
  const lat: number[] = [];
  try {
    await boss.work<{ k: string }>('default', rawWork, async (jobs) => {
      const now = performance.now();
      for (const j of jobs) {
        const t = sent.get(j.data.k);
        if (t !== undefined) lat.push(now - t);
      }
    });
    await steady(rate, seconds, async (i) => {
      sent.set(`n${i}`, performance.now());
      await boss.send('default', { k: `n${i}` });
    });
    await until(() => lat.length >= sent.size, 60_000);
    return lat;
  } finally {
    await boss.stop({ graceful: false, close: true });
    await dropSchema(schema);
  }
}

// ── BullMQ on Postgres ────────────────────────────────────────────────────────────────────────

async function bullPgThroughput(n: number): Promise<number> {
  const schema = schemaName('bullpg');
  const { Queue, Worker } = withBackend(createPostgresBackend);
  const connection = { connectionString: DATABASE_URL, schema, migrate: true };
  const q = new Queue('default', { connection });
  try {
    for (let i = 0; i < n; i += 1000) await q.addBulk(Array.from({ length: Math.min(1000, n - i) }, () => ({ name: 'noop', data: {} })));
    let done = 0;
    const t0 = performance.now();
    const w = new Worker(
      'default',
      async () => {
        done++;
        return null;
      },
      { connection, concurrency: CONCURRENCY },
    );
    await until(() => done >= n);
    const rate = n / ((performance.now() - t0) / 1000);
    await w.close();
    return rate;
  } finally {
    await q.close();
    await dropSchema(schema);
  }
}

async function bullPgLatency(rate: number, seconds: number) {
  const schema = schemaName('bullpglat');
  const { Queue, Worker } = withBackend(createPostgresBackend);
  const connection = { connectionString: DATABASE_URL, schema, migrate: true };
  const q = new Queue('default', { connection });
  const sent = new Map<string, number>();
  const lat: number[] = [];
  const w = new Worker(
    'default',
    async (job) => {
      const t = sent.get((job.data as { k: string }).k);
      if (t !== undefined) lat.push(performance.now() - t);
      return null;
    },
    { connection, concurrency: CONCURRENCY },
  );
  try {
    await w.waitUntilReady();
    await steady(rate, seconds, async (i) => {
      sent.set(`n${i}`, performance.now());
      await q.add('noop', { k: `n${i}` });
    });
    await until(() => lat.length >= sent.size, 60_000);
    return lat;
  } finally {
    await w.close();
    await q.close();
    await dropSchema(schema);
  }
}

async function optional<T>(ctx: BenchContext, what: string, fn: () => Promise<T>): Promise<T | undefined> {
  try {
    return await fn();
  } catch (err) {
    ctx.log(`${what} did not run here: ${(err as Error).message}`);
    return undefined;
  }
}

export default async function pgbossBench(ctx: BenchContext): Promise<BenchRow[]> {
  const n = ctx.quick ? 3_000 : 20_000;
  const rate = ctx.quick ? 100 : 200;
  const seconds = ctx.quick ? 3 : 10;
  ctx.log(`no-op throughput, ${n} jobs each, concurrency ${CONCURRENCY}`);
  const raw = await rawThroughput(n);
  const ours = await oursThroughput(n);
  const bullPg = await optional(ctx, 'BullMQ createPostgresBackend', () => bullPgThroughput(n));
  ctx.log(`pickup latency at ${rate}/s for ${seconds} s`);
  const rawLat = await rawLatency(rate, seconds);
  const ourLat = await oursLatency(rate, seconds);
  const bullLat = await optional(ctx, 'BullMQ createPostgresBackend latency', () => bullPgLatency(rate, seconds));
  const r = (x: number) => Math.round(x);
  const ms = (x: number) => Math.round(x * 10) / 10;
  const rows: BenchRow[] = [
    {
      section: 'pgboss',
      metric: 'no-op jobs/s (vs raw pg-boss 12, batch 500 + notify)',
      ours: r(ours),
      baseline: r(raw),
      unit: 'jobs/s',
      // issue 13: the platform costs nothing over raw pg-boss for the same work
      target: '≥ 1.0× raw',
      met: ours >= raw,
    },
    {
      section: 'pgboss',
      metric: 'pickup p50, enqueue → handler (vs raw pg-boss)',
      ours: ms(pct(ourLat, 50)),
      baseline: ms(pct(rawLat, 50)),
      unit: 'ms',
      target: '≤ 25 ms',
      met: pct(ourLat, 50) <= 25,
    },
    {
      section: 'pgboss',
      metric: 'pickup p99, enqueue → handler (vs raw pg-boss)',
      ours: ms(pct(ourLat, 99)),
      baseline: ms(pct(rawLat, 99)),
      unit: 'ms',
    },
  ];
  if (bullPg !== undefined)
    rows.push({
      section: 'pgboss',
      metric: 'no-op jobs/s (vs BullMQ createPostgresBackend)',
      ours: r(ours),
      baseline: r(bullPg),
      unit: 'jobs/s',
    });
  if (bullLat !== undefined) {
    rows.push({
      section: 'pgboss',
      metric: 'pickup p50 (vs BullMQ createPostgresBackend)',
      ours: ms(pct(ourLat, 50)),
      baseline: ms(pct(bullLat, 50)),
      unit: 'ms',
    });
    rows.push({
      section: 'pgboss',
      metric: 'pickup p99 (vs BullMQ createPostgresBackend)',
      ours: ms(pct(ourLat, 99)),
      baseline: ms(pct(bullLat, 99)),
      unit: 'ms',
    });
  }
  return rows;
}
