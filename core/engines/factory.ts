// The engine QUEUE_ENGINE names (or config inferred: REDIS_URL → bullmq, otherwise pgboss), configured from env.
import type { Logger } from 'pino';
import { queueNames } from '../../workers/catalog.ts';
import type { KernelConfig } from '../config/index.ts';
import { BullmqEngine } from './bullmq/engine.ts';
import { PgbossEngine } from './pgboss/engine.ts';

/** QUEUE_PREFIX as a Postgres schema name: `conveyor` stays, `cvt-a-1f` becomes `cvt_a_1f`. */
export function pgbossSchemaFor(prefix: string): string {
  const s = prefix.toLowerCase().replace(/[^a-z0-9_]/g, '_');
  return (/^[a-z_]/.test(s) ? s : `q_${s}`).slice(0, 50);
}

/**
 * `databaseUrl` overrides DATABASE_URL (the embedded PostgreSQL's URL under `npm start`).
 * A pgboss engine without any database URL is a configuration error.
 */
export function createEngine(
  config: KernelConfig,
  logger: Logger,
  prefix = config.QUEUE_PREFIX,
  databaseUrl = config.DATABASE_URL,
): BullmqEngine | PgbossEngine {
  if (config.QUEUE_ENGINE === 'pgboss') {
    if (!databaseUrl) throw new Error('QUEUE_ENGINE=pgboss needs DATABASE_URL (only `npm start` runs an embedded PostgreSQL)');
    return new PgbossEngine({
      databaseUrl,
      schema: pgbossSchemaFor(prefix),
      logger,
      queues: queueNames,
      retentionCounts: { completed: config.RETENTION_COMPLETED_COUNT, failed: config.RETENTION_FAILED_COUNT },
      // per process: 5 for pg-boss, 5 for ours, 1 LISTEN (docs/engines.md)
      maxConnections: 5,
      worker: {
        heartbeatSeconds: config.WORKER_LOCK_DURATION_MS / 1000,
        superviseIntervalSeconds: Math.max(1, Math.round(config.WORKER_STALLED_INTERVAL_MS / 1000)),
        pollIntervalMs: config.PGBOSS_POLL_INTERVAL_MS,
      },
    });
  }
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
