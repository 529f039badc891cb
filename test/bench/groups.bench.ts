// Groups (docs/groups.md), both engines, in one process: no-op jobs drained at worker concurrency 50 through the
// full runtime (executor + group settler), spread over 1,000 groups (GROUP_CONCURRENCY 1) vs the same jobs
// ungrouped (target ≥ 0.7×); and the wait of a 10-job group enqueued behind a 100,000-job group (10,000 with
// --quick): how long until its 10 jobs are done, and how many of the big group's ran meanwhile (fairness:
// about one of theirs per one of ours, as the groups alternate).
import type { Backend } from '../../core/backend.ts';
import type { EnqueueRequest } from '../../core/engine.ts';
import { enqueueManyGrouped } from '../../core/groups/enqueue.ts';
import { groupSettler } from '../../core/groups/settle.ts';
import { toEnqueueRequest, validateJob } from '../../producers/enqueue.ts';
import type { loadConfig } from '../../workers/config.ts';
import { handlers } from '../../workers/diagnostics/handlers.ts';
import { startWorkers } from '../../workers/runtime.ts';
import { benchBackend, type EngineName, benchLogger as logger, until } from './backend.ts';
import type { BenchContext, BenchRow } from './types.ts';

const platform = (engine: EngineName, redisUrl: string) =>
  benchBackend(engine, redisUrl, { GROUP_CONCURRENCY: '1', RETENTION_COMPLETED_COUNT: '10000000' });

const requests = (config: ReturnType<typeof loadConfig>, n: number, group: (i: number) => string | undefined): EnqueueRequest[] =>
  Array.from({ length: n }, (_, i) => {
    const g = group(i);
    const v = validateJob({ name: 'diagnostics.noop', data: {}, options: g === undefined ? {} : { group: g } });
    if (!v.ok) throw new Error('bad bench job');
    return toEnqueueRequest(v.job, config, {});
  });

async function enqueueAll(backend: Backend, reqs: EnqueueRequest[]) {
  for (let i = 0; i < reqs.length; i += 1000) {
    await enqueueManyGrouped(backend.groups, (r) => backend.engine.enqueueMany(r), reqs.slice(i, i + 1000));
  }
}

/** Drain `n` enqueued jobs at concurrency 50; jobs/s. `onDone` sees each completed job's group. */
async function drain(backend: Backend, n: number, onDone?: (group: string | undefined) => boolean) {
  let done = 0;
  let stop = false;
  const started = performance.now();
  const rt = startWorkers({
    engine: backend.engine,
    logger,
    handlers: handlers as never,
    queues: { default: 50 },
    settlers: [groupSettler(backend.groups)],
    hooks: {
      onOutcome: (job) => {
        done++;
        if (onDone?.(job.meta.group)) stop = true;
      },
    },
  });
  await until(() => stop || done >= n, 600_000);
  const seconds = (performance.now() - started) / 1000;
  await rt.close(1_000);
  return { seconds, done, perSecond: done / seconds };
}

async function throughput(engine: EngineName, ctx: BenchContext, grouped: boolean) {
  const n = ctx.quick ? 2_000 : 20_000;
  const p = platform(engine, ctx.redisUrl);
  try {
    await p.backend.release?.run();
    const reqs = requests(p.config, n, (i) => (grouped ? `tenant-${i % 1000}` : undefined));
    const t0 = performance.now();
    await enqueueAll(p.backend, reqs);
    const enqueuePerSecond = n / ((performance.now() - t0) / 1000);
    const d = await drain(p.backend, n);
    return { enqueuePerSecond, drainPerSecond: d.perSecond };
  } finally {
    await p.drop();
  }
}

async function smallBehindBig(engine: EngineName, ctx: BenchContext) {
  const big = ctx.quick ? 10_000 : 100_000;
  const p = platform(engine, ctx.redisUrl);
  try {
    await p.backend.release?.run();
    await enqueueAll(
      p.backend,
      requests(p.config, big, () => 'big'),
    );
    await enqueueAll(
      p.backend,
      requests(p.config, 10, () => 'small'),
    );
    let small = 0;
    let bigDone = 0;
    const d = await drain(p.backend, Number.POSITIVE_INFINITY, (g) => {
      if (g === 'small') small++;
      else bigDone++;
      return small >= 10;
    });
    return { big, seconds: d.seconds, bigDone };
  } finally {
    await p.drop();
  }
}

export default async function groupsBench(ctx: BenchContext): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  for (const engine of ['bullmq', 'pgboss'] as const) {
    ctx.log(`${engine}: ungrouped drain`);
    const plain = await throughput(engine, ctx, false);
    ctx.log(`${engine}: 1,000 groups drain`);
    const groups = await throughput(engine, ctx, true);
    rows.push(
      {
        section: 'groups',
        metric: `${engine} no-op drain, 1,000 groups (concurrency 1 each) vs ungrouped`,
        ours: groups.drainPerSecond,
        baseline: plain.drainPerSecond,
        unit: 'jobs/s',
        target: '≥ 0.7× ungrouped',
        met: groups.drainPerSecond >= 0.7 * plain.drainPerSecond,
      },
      {
        section: 'groups',
        metric: `${engine} bulk enqueue, 1,000 groups vs ungrouped`,
        ours: groups.enqueuePerSecond,
        baseline: plain.enqueuePerSecond,
        unit: 'jobs/s',
      },
    );
    ctx.log(`${engine}: 10 jobs behind a big group`);
    const wait = await smallBehindBig(engine, ctx);
    rows.push(
      {
        section: 'groups',
        metric: `${engine} wait of a 10-job group behind a ${wait.big.toLocaleString('en-US')}-job group`,
        ours: wait.seconds * 1000,
        unit: 'ms',
      },
      {
        section: 'groups',
        metric: `${engine} big group's jobs run meanwhile (fair: about 10)`,
        ours: wait.bigDone,
        unit: 'jobs',
        target: '≤ 20 (one round per small job, plus the first)',
        met: wait.bigDone <= 20,
      },
    );
  }
  return rows;
}
