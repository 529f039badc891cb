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

interface QueueDemand {
  queue: string;
  wanted: number;
  keepingUp: boolean;
  latency: number;
  drainSeconds: number;
  load: number;
  concurrency: number;
}

/**
 * One queue's replicas: every replica runs the queue at `concurrency`, so the queue alone needs
 * - while it keeps up (oldest ready job younger than the target and its backlog drains within the target
 *   at its recent rate), enough replicas for its jobs running now;
 * - otherwise enough to run every ready and running job of it at once.
 */
function queueDemand(q: QueueInfo, concurrency: number, finished: number, input: ScalingInput): QueueDemand {
  const depth = q.counts.waiting;
  const throughput = finished / input.windowSeconds;
  const drainSeconds = depth === 0 ? 0 : throughput > 0 ? depth / throughput : Number.POSITIVE_INFINITY;
  const latency = q.oldestWaitingAgeSeconds;
  const keepingUp = latency <= input.targetLatencySeconds && drainSeconds <= input.targetLatencySeconds;
  const load = keepingUp ? q.counts.active : depth + q.counts.active;
  const c = Math.max(1, concurrency);
  return { queue: q.name, wanted: Math.ceil(load / c), keepingUp, latency, drainSeconds, load, concurrency: c };
}

function reasonOf(d: QueueDemand | undefined, target: number): string {
  if (!d) return 'no running queue';
  if (d.keepingUp)
    return `keeping up (latency ${round(d.latency, 1)} s ≤ ${target} s): ${d.queue} ${d.load} running / ${d.concurrency} per replica`;
  const drain = Number.isFinite(d.drainSeconds) ? `${round(d.drainSeconds, 1)} s` : 'never at the recent rate';
  return `behind on ${d.queue} (latency ${round(d.latency, 1)} s, backlog drains in ${drain}): ${d.load} ready or running / ${d.concurrency} per replica`;
}

/**
 * Replicas for each process type: the most any of its running queues needs on its own (queueDemand).
 * A queue's demand is divided by that queue's concurrency only: an idle queue's slots never absorb
 * another queue's backlog (the bug where 200 idle search slots hid 40 waiting reports). Then clamped to
 * [min, max]. The supervisor adds hysteresis and cool-downs on top.
 */
export function computeScaling(input: ScalingInput): ScalingSignal {
  const byName = new Map(input.queueInfo.map((q) => [q.name, q]));
  const processTypes: Record<string, ProcessTypeSignal> = {};
  for (const [type, spec] of Object.entries(input.processTypes)) {
    const served = Object.keys(spec.queues).filter((q) => byName.has(q));
    const running = served.filter((q) => !byName.get(q)?.paused);
    const infoOf = (q: string) => byName.get(q) as QueueInfo;
    const pick = (f: (q: QueueInfo) => number, names: string[]) => names.reduce((a, q) => a + f(infoOf(q)), 0);
    const finished = served.reduce((a, q) => a + (input.finishedInWindow[q] ?? 0), 0);
    const demands = running.map((q) => queueDemand(infoOf(q), spec.queues[q] ?? 1, input.finishedInWindow[q] ?? 0, input));
    const top = demands.reduce<QueueDemand | undefined>((a, d) => (!a || d.wanted > a.wanted ? d : a), undefined);
    const wanted = top?.wanted ?? 0;
    const recommended = Math.min(spec.max, Math.max(spec.min, wanted));
    const why = reasonOf(top, input.targetLatencySeconds);
    processTypes[type] = {
      queues: served,
      pausedQueues: served.filter((q) => byName.get(q)?.paused),
      latencySeconds: round(running.reduce((a, q) => Math.max(a, infoOf(q).oldestWaitingAgeSeconds), 0)),
      depth: pick((q) => q.counts.waiting, running),
      active: pick((q) => q.counts.active, served),
      delayed: pick((q) => q.counts.delayed, running),
      throughputPerSecond: round(finished / input.windowSeconds),
      concurrencyPerReplica: Math.max(
        1,
        running.reduce((a, q) => a + (spec.queues[q] ?? 0), 0),
      ),
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

/**
 * The process types this deployment scales: `worker` (WORKER_QUEUES, SCALING_WORKER_REPLICAS; every queue
 * in development) and each of WORKER_PROCESS_TYPES (the production split, own queues and bounds).
 * WORKER_QUEUES of a process that is itself one of the types is that type's, so `worker` is read from
 * the `*` default then.
 */
export function processTypesOf(
  config: Pick<KernelConfig, 'WORKER_QUEUES' | 'SCALING_WORKER_REPLICAS' | 'WORKER_PROCESS_TYPES' | 'WORKER_PROCESS_TYPE'>,
  queues: CatalogView['queues'],
  bounds = config.SCALING_WORKER_REPLICAS,
): Record<string, ProcessTypeSpec> {
  const workerQueues = config.WORKER_PROCESS_TYPE ? { '*': undefined } : config.WORKER_QUEUES;
  const out: Record<string, ProcessTypeSpec> = { worker: { queues: queuesOf(workerQueues, queues), min: bounds.min, max: bounds.max } };
  for (const t of config.WORKER_PROCESS_TYPES) out[t.name] = { queues: queuesOf(t.queues, queues), ...t.replicas };
  return out;
}
