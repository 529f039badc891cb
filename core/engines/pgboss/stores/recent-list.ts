// RecentList on Postgres, in the engine's schema: one table per list name (`email:caught` →
// conveyor_email_caught): (id PK, received_at, seq bigserial, mail jsonb); statements in sql/recent-*.sql.
// The column names are the mail catcher's, which had the table first; `received_at` is the push time,
// `mail` the document.
import type { RecentList } from '../../../stores.ts';
import { type StoreStatements, storeStatements } from './sql.ts';
import { ensureTables, type PgStore, tableName } from './tables.ts';

export class PostgresRecentList<T extends { id: string }> implements RecentList<T> {
  private readonly sql: StoreStatements;

  constructor(
    private readonly pg: PgStore,
    name: string,
  ) {
    this.sql = storeStatements(pg.schema, tableName(name));
  }

  private async q(text: string, values: unknown[] = []) {
    await ensureTables(this.pg, this.sql['recent-create']);
    return this.pg.pool.query(text, values);
  }

  async push(doc: T, cap: number) {
    await this.q(this.sql['recent-push'], [doc.id, JSON.stringify(doc), cap]);
  }

  async list(limit: number) {
    const { rows } = await this.q(this.sql['recent-list'], [limit]);
    return rows.map((r) => r.mail as T);
  }

  async get(id: string) {
    const { rows } = await this.q(this.sql['recent-get'], [id]);
    return (rows[0]?.mail as T | undefined) ?? null;
  }

  async clear() {
    await this.q(this.sql['recent-clear']);
  }
}
