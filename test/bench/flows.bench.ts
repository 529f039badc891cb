// Workflows: a flow of 1 → 1,000 → 1 no-op jobs end to end (stored, root enqueued, 1,000 children released by
// the root's settle, the sink by the last of them) vs the same 1,002 no-op jobs enqueued independently in one
// bulk, on each engine, one worker runtime in this process (default queue, concurrency 50) running the flow
// settler. Figures: ms from the first enqueue call to the 1,002nd finished run; ratio flow ÷ independent.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { pino } from 'pino';
import type { Backend } from '../../core/backend.ts';
import { deleteKeysWithPrefix } from '../../core/engines/bullmq/redis.ts';
import { createBackend, pgbossSchemaFor } from '../../core/engines/factory.ts';
import { planFlow } from '../../core/flows/plan.ts';
import { type FlowDeps, flowSettler, startFlow } from '../../core/flows/run.ts';
import { queueNames, toEnqueueRequest, type ValidJob, validateJob } from '../../workers/catalog.ts';
import { type Config, loadConfig } from '../../workers/config.ts';
import { handlers } from '../../workers/diagnostics/handlers.ts';
import { startWorkers } from '../../workers/runtime.ts';
import type { BenchContext, BenchRow, BenchSection } from './types.ts';

const logger = pino({ level: 'warn' });
const DATABASE_URL = process.env.TEST_DATABASE_URL ?? process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const FAN = 1_000;
const TOTAL = FAN + 2;

/** Run `start`, then wait for TOTAL finished runs; ms. */
async function timed(backend: Backend, deps: FlowDeps, start: () => Promise<unknown>): Promise<number> {
  let done = 0;
  let failed = 0;
  const rt = startWorkers({
    engine: backend.engine,
    logger,
    handlers,
    queues: { default: 50 },
    settlers: [flowSettler(deps)],
    hooks: {
      onOutcome: (_j, o) => {
        if (o.status === 'completed') done++;
        else failed++;
      },
    },
  });
  const t0 = performance.now();
  await start();
  const deadline = Date.now() + 300_000;
  while (done + failed < TOTAL) {
    if (Date.now() > deadline) throw new Error(`only ${done} of ${TOTAL} jobs finished`);
    await new Promise((r) => setTimeout(r, 2));
  }
  const ms = performance.now() - t0;
  await rt.close(5_000);
  if (failed > 0) throw new Error(`${failed} jobs failed`);
  return ms;
}

const noop = (key: string, dependsOn?: string[]) => ({ key, name: 'diagnostics.noop', data: {}, ...(dependsOn ? { dependsOn } : {}) });

function flowPlan(config: Config) {
  const middle = Array.from({ length: FAN }, (_, i) => noop(`m${i}`, ['root']));
  const plan = planFlow(
    [
      noop('root'),
      ...middle,
      noop(
        'sink',
        middle.map((m) => m.key),
      ),
    ],
    {
      validate: validateJob,
      mayEnqueue: () => true,
      request: (job, jobId, flow) => toEnqueueRequest(job as ValidJob, config, { flow }, Date.now(), jobId),
    },
  );
  if (!plan.ok) throw new Error(JSON.stringify(plan.details));
  return plan.flow;
}

async function oneEngine(ctx: BenchContext, engine: 'bullmq' | 'pgboss', rounds: number) {
  const prefix = `cvbench_fl_${randomBytes(3).toString('hex')}`;
  const config = loadConfig({ QUEUE_ENGINE: engine, REDIS_URL: ctx.redisUrl, DATABASE_URL, QUEUE_PREFIX: prefix, LOG_LEVEL: 'warn' });
  const backend = createBackend(config, logger, { queues: queueNames });
  await backend.release?.run();
  const deps: FlowDeps = { store: backend.flows, engine: backend.engine };
  const independent = (): Promise<unknown> => {
    const v = validateJob({ name: 'diagnostics.noop', data: {} });
    if (!v.ok) throw new Error('bad bench job');
    const now = Date.now();
    return backend.engine.enqueueMany(Array.from({ length: TOTAL }, () => toEnqueueRequest(v.job, config, {}, now)));
  };
  try {
    await timed(backend, deps, independent); // warm-up
    const best = { flow: Number.POSITIVE_INFINITY, independent: Number.POSITIVE_INFINITY };
    for (let i = 0; i < rounds; i++) {
      best.independent = Math.min(best.independent, await timed(backend, deps, independent));
      best.flow = Math.min(best.flow, await timed(backend, deps, () => startFlow(deps, flowPlan(config))));
    }
    return best;
  } finally {
    await backend.close();
    await deleteKeysWithPrefix(ctx.redisUrl, prefix);
    if (engine === 'pgboss') {
      const c = new pg.Client({ connectionString: DATABASE_URL });
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS ${pgbossSchemaFor(prefix)} CASCADE`).finally(() => c.end());
    }
  }
}

const section: BenchSection = async (ctx) => {
  const rows: BenchRow[] = [];
  for (const engine of ['bullmq', 'pgboss'] as const) {
    const r = await oneEngine(ctx, engine, ctx.quick ? 1 : 3);
    ctx.log(`${engine}: flow 1 → ${FAN} → 1 in ${Math.round(r.flow)} ms, ${TOTAL} independent jobs in ${Math.round(r.independent)} ms`);
    rows.push({
      section: 'flows',
      metric: `${engine}: flow 1 → ${FAN} → 1 no-op jobs end to end vs ${TOTAL} independent (best of ${ctx.quick ? 1 : 3}, c=50)`,
      ours: Math.round(r.flow),
      baseline: Math.round(r.independent),
      unit: 'ms',
      target: '≤ 3× independent',
      met: r.flow <= 3 * r.independent,
    });
  }
  return rows;
};

export default section;
