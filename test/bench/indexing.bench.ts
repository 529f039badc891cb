// Search indexing vs no-op jobs on the same engine (issue 13: "indexing adds no bottleneck", ≥ 0.8×).
// BENCH_ENGINE=bullmq|pgboss runs one engine only.
// One worker runtime in this process per engine, at the search queue's concurrency, drains N jobs it did
// not enqueue while measured: first N `diagnostics.noop` jobs, then N `search.index` upserts written
// through the real handler (BulkBatcher → `_bulk`) to the ES stand-in in its own process answering after
// 1 ms, like a healthy cluster close by. Ratio = indexing jobs/s ÷ no-op jobs/s.
import { randomBytes } from 'node:crypto';
import { Client } from '@elastic/elasticsearch';
import { pino } from 'pino';
import type { Backend } from '../../core/backend.ts';
import { createBackend } from '../../core/engines/factory.ts';
import { toEnqueueRequest, validateJob } from '../../producers/enqueue.ts';
import { queueNames, queues } from '../../workers/catalog.ts';
import { loadConfig } from '../../workers/config.ts';
import { createHandlers } from '../../workers/handlers.ts';
import { startWorkers } from '../../workers/runtime.ts';
import { setupIndex } from '../../workers/search/index-setup.ts';
import { searchIndexes } from '../../workers/search/indexes.ts';
import { startStandinProcess } from './search.bench.ts';
import type { BenchContext, BenchRow, BenchSection } from './types.ts';

const logger = pino({ level: 'warn' });
const DATABASE_URL = process.env.TEST_DATABASE_URL ?? process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

type Job = { name: string; data: Record<string, unknown> };

async function drain(
  backend: Backend,
  handlers: Awaited<ReturnType<typeof createHandlers>>,
  queue: string,
  jobs: Job[],
  config: ReturnType<typeof loadConfig>,
) {
  const { engine } = backend;
  for (let i = 0; i < jobs.length; i += 1000) {
    await engine.enqueueMany(
      jobs.slice(i, i + 1000).map((j) => {
        const v = validateJob(j);
        if (!v.ok) throw new Error(`bad bench job: ${JSON.stringify(v)}`);
        return toEnqueueRequest(v.job, config);
      }),
    );
  }
  let done = 0;
  let failed = 0;
  const t0 = performance.now();
  const rt = startWorkers({
    engine,
    logger,
    handlers: handlers.handlers,
    queues: { [queue]: queues.search.concurrency },
    hooks: {
      onOutcome: (_j, o) => {
        if (o.status === 'completed') done++;
        else failed++;
      },
    },
  });
  const deadline = Date.now() + 300_000;
  while (done + failed < jobs.length) {
    if (Date.now() > deadline) throw new Error(`only ${done} of ${jobs.length} ${queue} jobs finished`);
    await new Promise((r) => setTimeout(r, 5));
  }
  const rate = jobs.length / ((performance.now() - t0) / 1000);
  await rt.close(5_000);
  if (failed > 0) throw new Error(`${failed} ${queue} jobs failed`);
  return rate;
}

async function oneEngine(ctx: BenchContext, engine: 'bullmq' | 'pgboss', esUrl: string, n: number) {
  const prefix = `cvbench_ix_${randomBytes(3).toString('hex')}`;
  const config = loadConfig({
    QUEUE_ENGINE: engine,
    REDIS_URL: ctx.redisUrl,
    DATABASE_URL,
    QUEUE_PREFIX: prefix,
    LOG_LEVEL: 'warn',
    ELASTICSEARCH_URL: esUrl,
    SEARCH_INDEX_PREFIX: prefix,
    RETENTION_COMPLETED_COUNT: '10000000',
  });
  const backend = createBackend(config, logger, { queues: queueNames });
  const client = new Client({ node: esUrl });
  await setupIndex(client, prefix, searchIndexes.products, { overwrite: true });
  await client.indices.putSettings({ index: `${prefix}-products`, settings: { index: { refresh_interval: '-1' } } });
  const handlers = await createHandlers({ config, logger, backend }, { default: 1, search: 1 });
  try {
    const noop = await drain(
      backend,
      handlers,
      'default',
      Array.from({ length: n }, () => ({ name: 'diagnostics.noop', data: {} })),
      config,
    );
    const docs = Array.from({ length: n }, (_, i) => ({
      name: 'search.index',
      data: { index: 'products', operation: 'upsert', id: `p${i}`, document: { name: `product ${i}`, price: i % 1000 }, version: 1 },
    }));
    const indexing = await drain(backend, handlers, 'search', docs, config);
    return { noop, indexing };
  } finally {
    await handlers.close();
    await client.close();
    await backend.close();
  }
}

const section: BenchSection = async (ctx) => {
  const only = process.env.BENCH_ENGINE;
  const n = ctx.quick ? 2_000 : 10_000;
  const standin = await startStandinProcess(1);
  const rows: BenchRow[] = [];
  try {
    for (const engine of (['bullmq', 'pgboss'] as const).filter((e) => !only || e === only)) {
      const r = await oneEngine(ctx, engine, standin.url, n);
      ctx.log(`${engine}: ${n} no-op jobs ${Math.round(r.noop)}/s, ${n} search.index jobs ${Math.round(r.indexing)}/s`);
      rows.push({
        section: 'indexing',
        metric: `${engine}: search.index jobs/s vs diagnostics.noop jobs/s (c=${queues.search.concurrency}, 1 ms stand-in)`,
        ours: Math.round(r.indexing),
        baseline: Math.round(r.noop),
        unit: 'jobs/s',
        target: '≥ 0.8×',
        met: r.indexing / r.noop >= 0.8,
      });
    }
  } finally {
    await standin.stop();
  }
  return rows;
};

export default section;
