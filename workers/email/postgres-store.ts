// What the email module needs from the pg-boss engine to keep its state beside the jobs: the engine's
// pool and schema. Our tables are created on first use (idempotent), so no engine migration is needed.
import type pg from 'pg';
import type { Engine } from '../../core/engine.ts';

export interface PostgresStore {
  pool: pg.Pool;
  schema: string;
  /** the engine's own start (installs its schema); idempotent */
  start(): Promise<void>;
}

/** The pg-boss engine as a PostgresStore, or undefined on another engine. */
export function postgresStoreOf(engine: Engine): PostgresStore | undefined {
  if (engine.kind !== 'pgboss') return undefined;
  return engine as unknown as PostgresStore;
}

/** Run `ddl` once per store and statement; concurrent CREATE … IF NOT EXISTS races are tolerated. */
const ensured = new WeakMap<PostgresStore, Map<string, Promise<void>>>();
export function ensureTables(store: PostgresStore, ddl: string): Promise<void> {
  let byDdl = ensured.get(store);
  if (!byDdl) {
    byDdl = new Map();
    ensured.set(store, byDdl);
  }
  let p = byDdl.get(ddl);
  if (!p) {
    p = (async () => {
      await store.start();
      try {
        await store.pool.query(ddl);
      } catch (err) {
        // two processes creating the same table at once: the loser sees a unique violation on the catalog
        if (!['23505', '42P07'].includes((err as { code?: string }).code ?? '')) throw err;
      }
    })().catch((err) => {
      byDdl.delete(ddl);
      throw err;
    });
    byDdl.set(ddl, p);
  }
  return p;
}
