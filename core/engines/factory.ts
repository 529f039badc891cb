// The one place that picks an engine: QUEUE_ENGINE names it (or config infers it: REDIS_URL → bullmq,
// otherwise pgboss). It builds that engine's backend (core/backend.ts): the engine plus every side store.
import type { Logger } from 'pino';
import type { Backend } from '../backend.ts';
import type { KernelConfig } from '../config/index.ts';
import { groupDefaultsFor } from '../groups/config.ts';
import type { GroupDefaults } from '../groups/types.ts';
import { BullmqBackend } from './bullmq/backend.ts';
import { BullmqEngine } from './bullmq/engine.ts';
import { ensureLocalRedis, LocalRedisError } from './bullmq/local-redis.ts';
import { PgbossBackend } from './pgboss/backend.ts';
import { EmbeddedPostgresError, startEmbeddedPostgres } from './pgboss/embedded-postgres.ts';
import { PgbossEngine } from './pgboss/engine.ts';

/** QUEUE_PREFIX as a Postgres schema name: `conveyor` stays, `cvt-a-1f` becomes `cvt_a_1f`. */
export function pgbossSchemaFor(prefix: string): string {
  const s = prefix.toLowerCase().replace(/[^a-z0-9_]/g, '_');
  return (/^[a-z_]/.test(s) ? s : `q_${s}`).slice(0, 50);
}

export interface BackendOptions {
  /** the catalog's queues (workers/catalog.ts queueNames): the kernel does not import the catalog */
  queues: readonly string[];
  /** default QUEUE_PREFIX */
  prefix?: string;
  /** default DATABASE_URL (the embedded PostgreSQL's URL under `npm start`) */
  databaseUrl?: string;
  /** the catalog's group defaults of a queue (QueueDefinition.groups), under GROUP_LIMITS */
  groupCatalog?: (queue: string) => Partial<GroupDefaults> | undefined;
}

/** The configured backend. A pgboss backend without any database URL is a configuration error. */
export function createBackend(config: KernelConfig, logger: Logger, opts: BackendOptions): Backend {
  const prefix = opts.prefix ?? config.QUEUE_PREFIX;
  const databaseUrl = opts.databaseUrl ?? config.DATABASE_URL;
  const groupDefaults = groupDefaultsFor(config, opts.groupCatalog);
  if (config.QUEUE_ENGINE === 'pgboss') {
    if (!databaseUrl) throw new Error('QUEUE_ENGINE=pgboss needs DATABASE_URL (only `npm start` runs an embedded PostgreSQL)');
    const engine = new PgbossEngine({
      databaseUrl,
      schema: pgbossSchemaFor(prefix),
      logger,
      queues: opts.queues,
      retentionCounts: { completed: config.RETENTION_COMPLETED_COUNT, failed: config.RETENTION_FAILED_COUNT },
      deadLetterRetentionSeconds: config.DEAD_LETTER_RETENTION_SECONDS,
      idempotencyTtlSeconds: config.IDEMPOTENCY_TTL_SECONDS,
      retentionSeconds: Math.min(config.RETENTION_COMPLETED_SECONDS, config.RETENTION_FAILED_SECONDS),
      // per process: 5 for pg-boss, 5 for ours, 1 LISTEN (docs/engines.md)
      maxConnections: 5,
      worker: {
        heartbeatSeconds: config.WORKER_LOCK_DURATION_MS / 1000,
        superviseIntervalSeconds: Math.max(1, Math.round(config.WORKER_STALLED_INTERVAL_MS / 1000)),
        maxStalledCount: config.WORKER_MAX_STALLED_COUNT,
        pollIntervalMs: config.PGBOSS_POLL_INTERVAL_MS,
        priorityAgingMs: config.PRIORITY_AGING_SECONDS * 1000,
      },
    });
    return new PgbossBackend(engine, { databaseUrl, prefix, queues: opts.queues, groupDefaults });
  }
  const engine = new BullmqEngine({
    redisUrl: config.REDIS_URL,
    cluster: config.REDIS_CLUSTER,
    prefix,
    logger,
    idempotencyTtlSeconds: config.IDEMPOTENCY_TTL_SECONDS,
    queues: opts.queues,
    worker: {
      lockDurationMs: config.WORKER_LOCK_DURATION_MS,
      stalledIntervalMs: config.WORKER_STALLED_INTERVAL_MS,
      maxStalledCount: config.WORKER_MAX_STALLED_COUNT,
      priorityAgingMs: config.PRIORITY_AGING_SECONDS * 1000,
    },
  });
  return new BullmqBackend(engine, { redisUrl: config.REDIS_URL, prefix, queues: opts.queues, logger, groupDefaults });
}

/** Why a process cannot have its store: `exitCode` 78 (EX_CONFIG, a configuration to fix) or 69 (EX_UNAVAILABLE). */
export class LocalStoreError extends Error {
  override name = 'LocalStoreError';
  constructor(
    message: string,
    readonly exitCode: 69 | 78,
  ) {
    super(message);
  }
}

/**
 * Development conveniences, before the backend is built (docs/engines.md): on bullmq a private redis-server
 * when nothing answers at a local REDIS_URL (REDIS_AUTOSTART; by default for `npm start` outside production);
 * on pgboss without DATABASE_URL an embedded PostgreSQL under DATA_DIR (`npm start` only). Returns the config
 * to build the backend with (DATABASE_URL pointing at the embedded server) and a stop for after it closed.
 */
export async function startLocalStore<C extends KernelConfig>(
  config: C,
  opts: { mode: string; logger: Logger },
): Promise<{ config: C; stop(): Promise<void> }> {
  const allInOne = opts.mode === 'all';
  if (config.QUEUE_ENGINE === 'bullmq') {
    if (!(config.REDIS_AUTOSTART ?? (allInOne && config.NODE_ENV !== 'production'))) return { config, stop: async () => {} };
    try {
      const stop = await ensureLocalRedis(config.REDIS_URL, config.DATA_DIR, opts.logger);
      return { config, stop: stop ?? (async () => {}) };
    } catch (err) {
      throw err instanceof LocalRedisError ? new LocalStoreError(err.message, 69) : err;
    }
  }
  if (config.DATABASE_URL) return { config, stop: async () => {} };
  if (!allInOne) {
    throw new LocalStoreError(
      `${opts.mode} needs DATABASE_URL (pgboss) or REDIS_URL (bullmq); only \`npm start\` (all) runs an embedded PostgreSQL`,
      78,
    );
  }
  try {
    const embedded = await startEmbeddedPostgres({ dataDir: config.DATA_DIR, port: config.EMBEDDED_POSTGRES_PORT, logger: opts.logger });
    return { config: { ...config, DATABASE_URL: embedded.url }, stop: embedded.stop };
  } catch (err) {
    throw err instanceof EmbeddedPostgresError ? new LocalStoreError(err.message, 69) : err;
  }
}
