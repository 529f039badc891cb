// Job search over 100,000 retained jobs per engine (docs/job-search.md): the median of 5 runs of each
// query shape, through JobReads.search / count, over every catalog queue (no queue filter, as an operator
// types it); and on Redis the search index's memory per job (MEMORY USAGE of the sorted set / jobs), next
// to one job's own hash. Also the enqueue rate with the index kept (Redis) / the two indexes (Postgres).
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { pino } from 'pino';
import type { Backend } from '../../core/backend.ts';
import type { EnqueueRequest } from '../../core/engine.ts';
import { BullmqBackend } from '../../core/engines/bullmq/backend.ts';
import { BullmqEngine } from '../../core/engines/bullmq/engine.ts';
import { createRedis, deleteKeysWithPrefix } from '../../core/engines/bullmq/redis.ts';
import { PgbossBackend } from '../../core/engines/pgboss/backend.ts';
import { PgbossEngine } from '../../core/engines/pgboss/engine.ts';
import { dataMatch, type JobFilter } from '../../core/search.ts';
import { queueNames } from '../../workers/catalog.ts';
import type { BenchContext, BenchRow } from './types.ts';

const DATABASE_URL = process.env.TEST_DATABASE_URL ?? process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const logger = pino({ level: 'silent' });
const TARGET_MS = 500;

const req = (i: number): EnqueueRequest => ({
  name: i % 10 === 0 ? 'diagnostics.sleep' : 'diagnostics.noop',
  queue: 'default',
  data: i % 10 === 0 ? { ms: 1, tag: `user${i}@example.com` } : { note: `user${i}@example.com` },
  priority: 0,
  delayMs: i % 50 === 0 ? 3_600_000 : 0,
  attempts: 1,
  backoff: { baseMs: 100, capMs: 100, jitter: 'none' } as EnqueueRequest['backoff'],
  timeoutMs: 10_000,
  retention: { completedSeconds: 86_400, failedSeconds: 86_400 },
});

const filter = (over: Partial<JobFilter>): JobFilter => ({
  queues: [...queueNames],
  kinds: null,
  states: null,
  since: null,
  until: null,
  data: [],
  ...over,
});

async function median(fn: () => Promise<unknown>, runs = 5): Promise<number> {
  await fn(); // warm
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  return times.sort((a, b) => a - b)[Math.floor(runs / 2)] as number;
}

async function fill(backend: Backend, total: number, ctx: BenchContext): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < total; i += 1_000) {
    await backend.engine.enqueueMany(Array.from({ length: Math.min(1_000, total - i) }, (_, k) => req(i + k)));
  }
  const rate = total / ((performance.now() - t0) / 1000);
  ctx.log(`${backend.engine.kind}: ${total} jobs enqueued at ${Math.round(rate)}/s`);
  return rate;
}

async function queries(engine: string, backend: Backend, total: number): Promise<BenchRow[]> {
  const reads = backend.jobReads;
  const probe = Math.floor(total * 0.77) + 1; // a noop job in the older part of the set
  const shapes: [string, () => Promise<unknown>][] = [
    [
      'exact payload field, 1 match',
      () => reads.search({ ...filter({ data: [dataMatch('data.note', `user${probe}@example.com`)] }), limit: 50, cursor: null }),
    ],
    [
      'prefix, 11 matches',
      () => reads.search({ ...filter({ data: [dataMatch('data.note', `user${Math.floor(probe / 10)}*`)] }), limit: 50, cursor: null }),
    ],
    [
      'kind + state, first page',
      () => reads.search({ ...filter({ kinds: ['diagnostics.sleep'], states: ['delayed'] }), limit: 50, cursor: null }),
    ],
    [
      'exact, no match (whole set)',
      () => reads.search({ ...filter({ data: [dataMatch('data.note', 'nobody@example.com')] }), limit: 50, cursor: null }),
    ],
    ['count: prefix user1* (dry run)', () => reads.count(filter({ data: [dataMatch('data.note', 'user1*')] }))],
  ];
  const rows: BenchRow[] = [];
  for (const [metric, fn] of shapes) {
    const ms = await median(fn);
    rows.push({
      section: 'job-search',
      metric: `${engine}: ${metric}`,
      ours: ms,
      unit: 'ms',
      target: `≤ ${TARGET_MS} ms`,
      met: ms <= TARGET_MS,
    });
  }
  return rows;
}

async function bullmq(ctx: BenchContext, total: number): Promise<BenchRow[]> {
  const prefix = `cvbench-search-${randomBytes(3).toString('hex')}`;
  const engine = new BullmqEngine({
    redisUrl: ctx.redisUrl,
    prefix,
    logger,
    idempotencyTtlSeconds: 3600,
    queues: queueNames,
    worker: { lockDurationMs: 30_000, stalledIntervalMs: 30_000, maxStalledCount: 1 },
  });
  const backend = new BullmqBackend(engine, { redisUrl: ctx.redisUrl, prefix, queues: queueNames, logger });
  const redis = createRedis(ctx.redisUrl, 'probe');
  try {
    const rate = await fill(backend, total, ctx);
    const rows = await queries('bullmq', backend, total);
    const index = Number(await redis.call('MEMORY', 'USAGE', engine.searchIndex.key('default'), 'SAMPLES', '0'));
    const [anyId] = await redis.zrange(engine.searchIndex.key('default'), 0, 0);
    const hash = Number(await redis.call('MEMORY', 'USAGE', `${prefix}:default:${anyId?.slice(14)}`));
    rows.push(
      {
        section: 'job-search',
        metric: 'bullmq: search index memory per job',
        ours: index / total,
        unit: 'bytes',
        target: `job hash itself: ${hash} bytes`,
      },
      { section: 'job-search', metric: 'bullmq: enqueue rate with the index', ours: rate, unit: 'jobs/s' },
    );
    return rows;
  } finally {
    redis.disconnect();
    await backend.close();
    await deleteKeysWithPrefix(ctx.redisUrl, prefix);
  }
}

async function pgboss(ctx: BenchContext, total: number): Promise<BenchRow[]> {
  const schema = `cvbench_search_${randomBytes(3).toString('hex')}`;
  const engine = new PgbossEngine({ databaseUrl: DATABASE_URL, schema, logger, queues: queueNames, maxConnections: 10 });
  const backend = new PgbossBackend(engine, { databaseUrl: DATABASE_URL, prefix: schema, queues: queueNames });
  try {
    await engine.migrate();
    const rate = await fill(backend, total, ctx);
    await engine.pool.query(`ANALYZE ${schema}.job`);
    const rows = await queries('pgboss', backend, total);
    const { rows: size } = await engine.pool.query(
      `SELECT sum(pg_relation_size(inhrelid))::bigint AS bytes FROM pg_inherits
        WHERE inhparent IN ($1::regclass, $2::regclass)`,
      [`${schema}.conveyor_job_search_time`, `${schema}.conveyor_job_search_doc`],
    );
    rows.push(
      { section: 'job-search', metric: 'pgboss: search indexes per job', ours: Number(size[0]?.bytes ?? 0) / total, unit: 'bytes' },
      { section: 'job-search', metric: 'pgboss: enqueue rate with the indexes', ours: rate, unit: 'jobs/s' },
    );
    return rows;
  } finally {
    await backend.close();
    const c = new pg.Client({ connectionString: DATABASE_URL });
    await c.connect();
    await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await c.end();
  }
}

export default async function jobSearch(ctx: BenchContext): Promise<BenchRow[]> {
  const total = ctx.quick ? 5_000 : 100_000;
  return [...(await bullmq(ctx, total)), ...(await pgboss(ctx, total))];
}
