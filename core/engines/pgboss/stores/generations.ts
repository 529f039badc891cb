// Generations on Postgres, in the engine's schema: one table per name (`unique` → conveyor_unique):
// (key PK, gen, expires_at); advance is one conditional upsert. Statements in sql/generations-*.sql.
import type { Generations } from '../../../stores.ts';
import { type StoreStatements, storeStatements } from './sql.ts';
import { ensureTables, type PgStore, tableName } from './tables.ts';

export class PostgresGenerations implements Generations {
  private readonly sql: StoreStatements;

  constructor(
    private readonly store: PgStore,
    private readonly opts: { name: string; ttlSeconds: number },
  ) {
    this.sql = storeStatements(store.schema, tableName(opts.name));
  }

  private async q(text: string, values: unknown[]) {
    await ensureTables(this.store, this.sql['generations-create']);
    return this.store.pool.query<{ gen: number }>(text, values);
  }

  async read(key: string) {
    return (await this.q(this.sql['generations-read'], [key])).rows[0]?.gen ?? 0;
  }

  async advance(key: string, from: number) {
    const moved = await this.q(this.sql['generations-advance'], [key, from, this.opts.ttlSeconds]);
    return moved.rows[0]?.gen ?? (await this.read(key));
  }
}
