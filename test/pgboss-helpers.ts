// Test support for the Postgres engine: a PgbossEngine in its own schema on the real PostgreSQL at
// DATABASE_URL (default 127.0.0.1:5432, database test), dropped after the test.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { PgbossBackend } from '../core/engines/pgboss/backend.ts';
import { PgbossEngine } from '../core/engines/pgboss/engine.ts';
import { queueNames } from '../workers/catalog.ts';
import type { EngineFactory } from './engines.ts';
import { DATABASE_URL, dropSchema, quietLogger } from './helpers.ts';

export { DATABASE_URL, dropSchema };

export const uniqueSchema = (label = 't') => `cvt_${label}_${randomBytes(4).toString('hex')}`;

/** Why the Postgres tests cannot run here, or undefined when they can. */
export async function postgresUnavailable(): Promise<string | undefined> {
  const c = new pg.Client({ connectionString: DATABASE_URL, connectionTimeoutMillis: 2_000 });
  try {
    await c.connect();
    await c.query('SELECT 1');
    return undefined;
  } catch (err) {
    return `no PostgreSQL at ${DATABASE_URL}: ${(err as Error).message}`;
  } finally {
    await c.end().catch(() => {});
  }
}

export function makePgbossEngine(
  opts: {
    heartbeatSeconds?: number;
    superviseIntervalSeconds?: number;
    pollIntervalMs?: number;
    priorityAgingMs?: number;
    retentionCounts?: { completed?: number; failed?: number };
    schema?: string;
    deadLetterRetentionSeconds?: number;
    idempotencyTtlSeconds?: number;
    retentionSeconds?: number;
  } = {},
) {
  const schema = opts.schema ?? uniqueSchema('eng');
  const engine = new PgbossEngine({
    databaseUrl: DATABASE_URL,
    schema,
    logger: quietLogger,
    queues: queueNames,
    maxConnections: 4,
    retentionCounts: opts.retentionCounts,
    deadLetterRetentionSeconds: opts.deadLetterRetentionSeconds,
    idempotencyTtlSeconds: opts.idempotencyTtlSeconds,
    retentionSeconds: opts.retentionSeconds,
    worker: {
      heartbeatSeconds: opts.heartbeatSeconds ?? 10,
      superviseIntervalSeconds: opts.superviseIntervalSeconds ?? 2,
      pollIntervalMs: opts.pollIntervalMs ?? 500,
      priorityAgingMs: opts.priorityAgingMs,
    },
  });
  const backend = new PgbossBackend(engine, { databaseUrl: DATABASE_URL, prefix: schema, queues: queueNames });
  return {
    engine,
    backend,
    schema,
    cleanup: async () => {
      await backend.close();
      await dropSchema(schema);
    },
  };
}

export const pgbossFactory: EngineFactory = {
  name: 'pgboss',
  unavailable: postgresUnavailable,
  async create(opts = {}) {
    const engineOpts = {
      heartbeatSeconds: opts.lockDurationMs ? opts.lockDurationMs / 1000 : undefined,
      superviseIntervalSeconds: opts.stalledIntervalMs ? Math.max(1, Math.round(opts.stalledIntervalMs / 1000)) : undefined,
      priorityAgingMs: opts.priorityAgingMs,
    };
    const { engine, backend, schema, cleanup } = makePgbossEngine(engineOpts);
    await engine.start();
    const twin = async () => {
      const other = makePgbossEngine({ ...engineOpts, schema }).engine;
      await other.start();
      return other;
    };
    return { engine, backend, twin, cleanup };
  },
};
