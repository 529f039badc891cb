// The scaling signal: per process type, how much work waits, how old the oldest ready job is, how fast
// the queues drain, and how many replicas that calls for within the configured bounds.
// `computeScaling` is pure (queue info + throughput + config + now in, numbers out): GET /v1/scaling,
// GET /metrics and the worker supervisor all use it, so the three never disagree.
import type { KernelConfig } from '../config/index.ts';
import type { QueueInfo } from '../engine.ts';
import type { CatalogView } from '../kinds.ts';

export interface ProcessTypeSpec {
  /** queue → concurrency per replica (WORKER_QUEUES resolved against the catalog) */
  queues: Record<string, number>;
  min: number;
  max: number;
}

export interface ScalingInput {
  processTypes: Record<string, ProcessTypeSpec>;
  queueInfo: QueueInfo[];
  /** per queue: jobs finished (completed or failed) in the last `windowSeconds` */
  finishedInWindow: Record<string, number>;
  windowSeconds: number;
  targetLatencySeconds: number;
  now: number;
}

export interface ProcessTypeSignal {
  queues: string[];
  /** paused queues are listed but add no demand: their jobs cannot run anyway */
  pausedQueues: string[];
  /** age in seconds of the oldest ready job across the served queues (prioritized included) */
  latencySeconds: number;
  /** jobs ready to run now (waiting + prioritized) */
  depth: number;
  active: number;
  delayed: number;
  /** jobs finished per second over the window */
  throughputPerSecond: number;
  concurrencyPerReplica: number;
  minReplicas: number;
  maxReplicas: number;
  recommendedReplicas: number;
  reason: string;
}

export interface ScalingSignal {
  generatedAt: string;
  targetLatencySeconds: number;
  windowSeconds: number;
  processTypes: Record<string, ProcessTypeSignal>;
}

const round = (n: number, digits = 3) => Math.round(n * 10 ** digits) / 10 ** digits;

/**
 * Replicas for one process type:
 * - while the pool keeps up (oldest ready job younger than the target and the backlog drains within
 *   the target at the recent rate), enough replicas for the jobs running now;
 * - otherwise enough to run every ready and running job at once.
 * Then clamped to [min, max]. The supervisor adds hysteresis and cool-downs on top.
 */
export function computeScaling(input: ScalingInput): ScalingSignal {
  const byName = new Map(input.queueInfo.map((q) => [q.name, q]));
  const processTypes: Record<string, ProcessTypeSignal> = {};
  for (const [type, spec] of Object.entries(input.processTypes)) {
    const served = Object.keys(spec.queues).filter((q) => byName.has(q));
    const running = served.filter((q) => !byName.get(q)?.paused);
    const pick = (f: (q: QueueInfo) => number, names: string[]) => names.reduce((a, q) => a + f(byName.get(q) as QueueInfo), 0);
    const depth = pick((q) => q.counts.waiting, running);
    const active = pick((q) => q.counts.active, served);
    const delayed = pick((q) => q.counts.delayed, running);
    const latency = running.reduce((a, q) => Math.max(a, (byName.get(q) as QueueInfo).oldestWaitingAgeSeconds), 0);
    const finished = served.reduce((a, q) => a + (input.finishedInWindow[q] ?? 0), 0);
    const throughput = finished / input.windowSeconds;
    const perReplica = Math.max(
      1,
      running.reduce((a, q) => a + (spec.queues[q] ?? 0), 0),
    );

    const drainSeconds = depth === 0 ? 0 : throughput > 0 ? depth / throughput : Number.POSITIVE_INFINITY;
    const keepingUp = latency <= input.targetLatencySeconds && drainSeconds <= input.targetLatencySeconds;
    const wanted = keepingUp ? Math.ceil(active / perReplica) : Math.ceil((depth + active) / perReplica);
    const recommended = Math.min(spec.max, Math.max(spec.min, wanted));
    const why = keepingUp
      ? `keeping up (latency ${round(latency, 1)} s ≤ ${input.targetLatencySeconds} s): ${active} running / ${perReplica} per replica`
      : `behind (latency ${round(latency, 1)} s, backlog drains in ${Number.isFinite(drainSeconds) ? `${round(drainSeconds, 1)} s` : 'never at the recent rate'}): ${depth + active} ready or running / ${perReplica} per replica`;
    processTypes[type] = {
      queues: served,
      pausedQueues: served.filter((q) => byName.get(q)?.paused),
      latencySeconds: round(latency),
      depth,
      active,
      delayed,
      throughputPerSecond: round(throughput),
      concurrencyPerReplica: perReplica,
      minReplicas: spec.min,
      maxReplicas: spec.max,
      recommendedReplicas: recommended,
      reason: wanted === recommended ? why : `${why} = ${wanted}, clamped to ${recommended}`,
    };
  }
  return {
    generatedAt: new Date(input.now).toISOString(),
    targetLatencySeconds: input.targetLatencySeconds,
    windowSeconds: input.windowSeconds,
    processTypes,
  };
}

/** WORKER_QUEUES (`*` or queue[:concurrency]) → queue → concurrency per replica, against the catalog's `queues`. */
export function queuesOf(spec: Record<string, number | undefined>, queues: CatalogView['queues']): Record<string, number> {
  const out: Record<string, number> = {};
  const concurrencyOf = (q: string) => spec[q] ?? queues[q]?.concurrency ?? 1;
  for (const name of Object.keys(spec)) {
    if (name === '*') for (const q of Object.keys(queues)) out[q] ??= concurrencyOf(q);
    else out[name] = concurrencyOf(name);
  }
  return out;
}

/** The process types this deployment scales: today one, `worker`, serving WORKER_QUEUES. */
export function processTypesOf(
  config: Pick<KernelConfig, 'WORKER_QUEUES' | 'SCALING_WORKER_REPLICAS'>,
  queues: CatalogView['queues'],
  bounds = config.SCALING_WORKER_REPLICAS,
): Record<string, ProcessTypeSpec> {
  return { worker: { queues: queuesOf(config.WORKER_QUEUES, queues), min: bounds.min, max: bounds.max } };
}
