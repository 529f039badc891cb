// Priority aging (issue 11 item 5; docs/engines.md "Priorities"), both engines, one worker runtime in this
// process: a steady stream of priority-1 `diagnostics.sleep` jobs (20 ms each) keeps the default queue's 10 worker
// slots busy with a backlog that never empties (topped up to 200 waiting every 10 ms); once it runs, one
// priority-10 job is enqueued and timed to its handler's start. With PRIORITY_AGING_SECONDS=1 (the knob's least
// value) it must start within the documented bound, (10 − 1) × 1 s plus one sweep (half a period): 9.5 s. With
// aging off (PRIORITY_AGING_SECONDS=0) the same job starves: it is watched for 1.5× the bound and must not start.
import type { Backend } from '../../core/backend.ts';
import { agingSweepIntervalMs } from '../../core/engines/shared.ts';
import { toEnqueueRequest, validateJob } from '../../producers/enqueue.ts';
import type { loadConfig } from '../../workers/config.ts';
import { startWorkers } from '../../workers/runtime.ts';
import { benchBackend, type EngineName, benchLogger as logger, until } from './backend.ts';
import type { BenchContext, BenchRow } from './types.ts';

const AGING_SECONDS = 1;
const BOUND_MS = (10 - 1) * AGING_SECONDS * 1000 + agingSweepIntervalMs(AGING_SECONDS * 1000);
const CONCURRENCY = 10;
const BACKLOG = 200;
const STREAM_JOB_MS = 20;

function request(config: ReturnType<typeof loadConfig>, name: string, data: object, priority: number) {
  const v = validateJob({ name, data, options: { priority } });
  if (!v.ok) throw new Error(`bad bench job: ${JSON.stringify(v)}`);
  return toEnqueueRequest(v.job, config, {});
}

/** Run the stream, enqueue the priority-10 probe, wait at most `watchMs` for it; its wait (ms) or undefined. */
async function probeWait(backend: Backend, config: ReturnType<typeof loadConfig>, watchMs: number) {
  let started = 0;
  let probeStart: number | undefined;
  const rt = startWorkers({
    engine: backend.engine,
    logger,
    handlers: {
      'diagnostics.sleep': async (p: { ms: number }) => {
        started++;
        await new Promise((r) => setTimeout(r, p.ms));
        return null;
      },
      'diagnostics.noop': async () => {
        probeStart = performance.now();
        return null;
      },
    } as never,
    queues: { default: CONCURRENCY },
  });
  let enqueued = 0;
  let streaming = true;
  const stream = (async () => {
    while (streaming) {
      const want = BACKLOG - (enqueued - started);
      if (want > 0) {
        await backend.engine.enqueueMany(
          Array.from({ length: want }, () => request(config, 'diagnostics.sleep', { ms: STREAM_JOB_MS }, 1)),
        );
        enqueued += want;
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  })();
  try {
    await until(() => started >= 4 * CONCURRENCY, 30_000); // the stream runs
    const startedBefore = started;
    const t0 = performance.now();
    await backend.engine.enqueue(request(config, 'diagnostics.noop', {}, 10));
    const end = Date.now() + watchMs;
    while (probeStart === undefined && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
    const waited = probeStart === undefined ? undefined : probeStart - t0;
    const elapsed = (performance.now() - t0) / 1000;
    return { waited, streamPerSecond: (started - startedBefore) / elapsed, backlog: enqueued - started };
  } finally {
    streaming = false;
    await stream;
    await rt.close(1_000);
  }
}

async function oneEngine(engine: EngineName, ctx: BenchContext, agingSeconds: number, watchMs: number) {
  const p = benchBackend(engine, ctx.redisUrl, { PRIORITY_AGING_SECONDS: String(agingSeconds) });
  try {
    await p.backend.release?.run();
    return await probeWait(p.backend, p.config, watchMs);
  } finally {
    await p.drop();
  }
}

export default async function agingBench(ctx: BenchContext): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const watch = Math.round(1.5 * BOUND_MS);
  for (const engine of ['bullmq', 'pgboss'] as const) {
    ctx.log(`${engine}: priority-10 job under a priority-1 stream, aging ${AGING_SECONDS} s`);
    const aged = await oneEngine(engine, ctx, AGING_SECONDS, 3 * BOUND_MS);
    ctx.log(
      `${engine}: waited ${aged.waited?.toFixed(0) ?? 'never started'} ms; stream ${aged.streamPerSecond.toFixed(0)} jobs/s, backlog ${aged.backlog}`,
    );
    rows.push({
      section: 'aging',
      metric: `${engine} wait of a priority-10 job under a saturating priority-1 stream, aging ${AGING_SECONDS} s, vs its bound`,
      ours: aged.waited ?? 3 * BOUND_MS,
      baseline: BOUND_MS,
      unit: 'ms',
      target: `≤ 1.0× the bound (9 periods + one sweep)`,
      met: aged.waited !== undefined && aged.waited <= BOUND_MS,
    });
    rows.push({
      section: 'aging',
      metric: `${engine} priority-1 stream meanwhile (c=${CONCURRENCY}, ${STREAM_JOB_MS} ms jobs)`,
      ours: aged.streamPerSecond,
      unit: 'jobs/s',
    });
    if (ctx.quick) continue;
    ctx.log(`${engine}: the same without aging, watched ${watch} ms`);
    const strict = await oneEngine(engine, ctx, 0, watch);
    rows.push({
      section: 'aging',
      metric: `${engine} the same with aging off (PRIORITY_AGING_SECONDS=0): wait, watched ${watch.toLocaleString('en-US')} ms`,
      ours: strict.waited ?? watch,
      baseline: BOUND_MS,
      unit: 'ms',
      target: 'starves (no start while watched)',
      met: strict.waited === undefined,
    });
  }
  return rows;
}
