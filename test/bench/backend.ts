// One throw-away backend for a bench section: its own queue prefix (and pg-boss schema), dropped afterwards.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { pino } from 'pino';
import { deleteKeysWithPrefix } from '../../core/engines/bullmq/redis.ts';
import { createBackend, pgbossSchemaFor } from '../../core/engines/factory.ts';
import { queueNames } from '../../workers/catalog.ts';
import { loadConfig } from '../../workers/config.ts';

export const benchLogger = pino({ level: 'warn' });
export const BENCH_DATABASE_URL =
  process.env.TEST_DATABASE_URL ?? process.env.DATABASE_URL ?? 'postgres://postgres:postgres@127.0.0.1:5432/test';
export type EngineName = 'bullmq' | 'pgboss';

/** A backend on `engine` under a fresh prefix; `env` adds config (GROUP_CONCURRENCY, PRIORITY_AGING_SECONDS …). */
export function benchBackend(engine: EngineName, redisUrl: string, env: Record<string, string> = {}) {
  const prefix = `bench-${randomBytes(4).toString('hex')}`;
  const config = loadConfig({
    QUEUE_ENGINE: engine,
    ...(engine === 'bullmq' ? { REDIS_URL: redisUrl } : { DATABASE_URL: BENCH_DATABASE_URL }),
    QUEUE_PREFIX: prefix,
    LOG_LEVEL: 'warn',
    ...env,
  });
  const backend = createBackend(config, benchLogger, { queues: queueNames });
  const drop = async () => {
    await backend.close();
    if (engine === 'bullmq') {
      await deleteKeysWithPrefix(redisUrl, prefix);
    } else {
      const c = new pg.Client({ connectionString: BENCH_DATABASE_URL });
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS ${pgbossSchemaFor(prefix)} CASCADE`).finally(() => c.end());
    }
  };
  return { config, backend, drop };
}

/** Poll `cond` every 5 ms until it holds; throws after `deadlineMs`. */
export async function until(cond: () => boolean, deadlineMs: number) {
  const end = Date.now() + deadlineMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('bench deadline passed');
    await new Promise((r) => setTimeout(r, 5));
  }
}
