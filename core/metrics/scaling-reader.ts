// Reads what computeScaling needs from the store: queue info from the engine, finished-job counts from
// the throughput buckets (the backend's `throughput` store).
import type { KernelConfig } from '../config/index.ts';
import type { Engine, QueueInfo } from '../engine.ts';
import type { CatalogView } from '../kinds.ts';
import { computeScaling, type ProcessTypeSpec, processTypesOf, type ScalingSignal } from './scaling.ts';
import { readFinished, type ThroughputStore } from './throughput.ts';

export async function readScaling(deps: {
  engine: Engine;
  throughput: ThroughputStore;
  config: KernelConfig;
  /** the catalog's queues: the default process types serve WORKER_QUEUES resolved against them */
  catalog: Pick<CatalogView, 'queues'>;
  processTypes?: Record<string, ProcessTypeSpec>;
  /** the queues to read (default: those the process types serve) */
  queues?: string[];
  now?: number;
}): Promise<{ signal: ScalingSignal; queueInfo: QueueInfo[]; finishedInWindow: Record<string, number> }> {
  const { engine, throughput, config } = deps;
  const processTypes = deps.processTypes ?? processTypesOf(config, deps.catalog.queues);
  const queues = deps.queues ?? [...new Set(Object.values(processTypes).flatMap((p) => Object.keys(p.queues)))];
  const now = deps.now ?? Date.now();
  const [queueInfo, finishedInWindow] = await Promise.all([
    engine.queueInfo(queues),
    readFinished(throughput, queues, config.SCALING_WINDOW_SECONDS, now),
  ]);
  const signal = computeScaling({
    processTypes,
    queueInfo,
    finishedInWindow,
    windowSeconds: config.SCALING_WINDOW_SECONDS,
    targetLatencySeconds: config.SCALING_TARGET_LATENCY_SECONDS,
    now,
  });
  return { signal, queueInfo, finishedInWindow };
}
