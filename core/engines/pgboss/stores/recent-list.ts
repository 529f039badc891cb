// RecentList on Postgres, in the engine's schema: one table per list name (`email:caught` →
// conveyor_email_caught): (id PK, received_at, seq bigserial, mail jsonb). The column names are the mail
// catcher's, which had the table first; `received_at` is the push time, `mail` the document.
import type { RecentList } from '../../../stores.ts';
import { ensureTables, type PgStore, tableName } from './tables.ts';

export class PostgresRecentList<T extends { id: string }> implements RecentList<T> {
  private readonly table: string;

  constructor(
    private readonly pg: PgStore,
    name: string,
  ) {
    this.table = `${pg.schema}.${tableName(name)}`;
  }

  private async q(text: string, values: unknown[] = []) {
    await ensureTables(
      this.pg,
      `CREATE TABLE IF NOT EXISTS ${this.table} (id text PRIMARY KEY, received_at timestamptz NOT NULL, seq bigserial, mail jsonb NOT NULL)`,
    );
    return this.pg.pool.query(text, values);
  }

  async push(doc: T, cap: number) {
    await this.q(
      `WITH ins AS (INSERT INTO ${this.table} (id, received_at, mail) VALUES ($1, now(), $2) RETURNING seq)
       DELETE FROM ${this.table} WHERE seq <= (SELECT seq FROM ins) - $3`,
      [doc.id, JSON.stringify(doc), cap],
    );
  }

  async list(limit: number) {
    const { rows } = await this.q(`SELECT mail FROM ${this.table} ORDER BY seq DESC LIMIT $1`, [limit]);
    return rows.map((r) => r.mail as T);
  }

  async get(id: string) {
    const { rows } = await this.q(`SELECT mail FROM ${this.table} WHERE id = $1`, [id]);
    return (rows[0]?.mail as T | undefined) ?? null;
  }

  async clear() {
    await this.q(`DELETE FROM ${this.table}`);
  }
}
