// What the side stores use of the pg-boss engine: its pool and schema, and its start (which installs the
// schema). Each store creates its own table on first use (CREATE … IF NOT EXISTS, idempotent), so the
// engine's migration does not need to know them.
import type pg from 'pg';

export interface PgStore {
  pool: pg.Pool;
  schema: string;
  /** the engine's own start (installs its schema); idempotent */
  start(): Promise<void>;
}

/** Run `ddl` once per store and statement; concurrent CREATE … IF NOT EXISTS races are tolerated. */
const ensured = new WeakMap<PgStore, Map<string, Promise<void>>>();
export function ensureTables(store: PgStore, ddl: string): Promise<void> {
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

/** `email:sent` → `conveyor_email_sent`: a store's name as part of a table name. */
export const tableName = (name: string) => `conveyor_${name.toLowerCase().replace(/[^a-z0-9_]/g, '_')}`;
