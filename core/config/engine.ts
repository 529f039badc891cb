// The queue engine and its store: which engine, where it connects, how long finished jobs are kept (docs/engines.md).
import { z } from 'zod';
import { bool, int, postgresUrl } from './fields.ts';
import { defineSection } from './section.ts';

export const engineSection = defineSection(
  'engine',
  {
    /** unset: bullmq when REDIS_URL is set, else pgboss (DATABASE_URL, or an embedded PostgreSQL under `npm start`) */
    QUEUE_ENGINE: z.enum(['bullmq', 'pgboss'], { error: 'expects bullmq or pgboss' }).optional(),
    DATABASE_URL: postgresUrl().optional(),
    EMBEDDED_POSTGRES_PORT: int(1, 65535).default(54329),
    PGBOSS_POLL_INTERVAL_MS: int(100, 60_000).default(2_000),
    REDIS_URL: z.url({ protocol: /^rediss?$/, error: 'expects a redis:// or rediss:// URL' }).default('redis://127.0.0.1:6379'),
    REDIS_AUTOSTART: bool.optional(),
    /** REDIS_URL names one node of a Redis Cluster; queues are hash-tagged per queue (core/engines/bullmq/keys.ts) */
    REDIS_CLUSTER: bool.default(false),
    QUEUE_PREFIX: z
      .string()
      .regex(/^[a-zA-Z0-9_-]+$/, { error: 'expects letters, digits, _ or -' })
      .default('conveyor'),
    /** deadline of a store call from the web process: past it (or when the store is unreachable) the API answers 503 + Retry-After */
    STORE_TIMEOUT_MS: int(50, 60_000).default(1_000),
    RETENTION_COMPLETED_SECONDS: int(1).default(86_400),
    RETENTION_COMPLETED_COUNT: int(1).default(10_000),
    RETENTION_FAILED_SECONDS: int(1).default(604_800),
    RETENTION_FAILED_COUNT: int(1).default(50_000),
    /** dead letters are kept this long (pg-boss: their rows' retention; BullMQ: the hourly ops.retention-cleanup) */
    DEAD_LETTER_RETENTION_SECONDS: int(3600).default(30 * 86_400),
  },
  [
    {
      variable: 'DATABASE_URL',
      reads: ['NODE_ENV', 'QUEUE_ENGINE', 'DATABASE_URL'],
      problem: (c: { NODE_ENV: string; QUEUE_ENGINE?: string; DATABASE_URL?: string }) =>
        c.NODE_ENV === 'production' && c.QUEUE_ENGINE === 'pgboss' && !c.DATABASE_URL
          ? 'is required when NODE_ENV=production and the engine is pgboss (or set REDIS_URL)'
          : undefined,
    },
  ],
  // REDIS_URL set → bullmq; otherwise pgboss on DATABASE_URL, or on an embedded PostgreSQL (`npm start`)
  (values, input) => {
    values.QUEUE_ENGINE ??= input.REDIS_URL ? 'bullmq' : 'pgboss';
  },
);
