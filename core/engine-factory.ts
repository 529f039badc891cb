import type { Logger } from 'pino';
import { BullmqEngine } from './bullmq/engine.ts';
import { queueNames } from './catalog.ts';
import type { Config } from './config.ts';

/** The engine QUEUE_ENGINE names, configured from env. */
export function createEngine(config: Config, logger: Logger, prefix = config.QUEUE_PREFIX): BullmqEngine {
  return new BullmqEngine({
    redisUrl: config.REDIS_URL,
    prefix,
    logger,
    idempotencyTtlSeconds: config.IDEMPOTENCY_TTL_SECONDS,
    queues: queueNames,
    worker: {
      lockDurationMs: config.WORKER_LOCK_DURATION_MS,
      stalledIntervalMs: config.WORKER_STALLED_INTERVAL_MS,
      maxStalledCount: config.WORKER_MAX_STALLED_COUNT,
    },
  });
}
