// RecordStore on Postgres, in the engine's schema: one table per store name (`http-kinds` →
// conveyor_records_http_kinds): (name PK, doc jsonb, updated_at); statements in sql/records-*.sql.
import type { Named, RecordStore } from '../../../stores.ts';
import { type StoreStatements, storeStatements } from './sql.ts';
import { ensureTables, type PgStore, tableName } from './tables.ts';

export class PostgresRecordStore<T extends Named> implements RecordStore<T> {
  private readonly sql: StoreStatements;

  constructor(
    private readonly pg: PgStore,
    name: string,
  ) {
    this.sql = storeStatements(pg.schema, tableName(`records_${name}`));
  }

  private async q(text: string, values: unknown[] = []) {
    await ensureTables(this.pg, this.sql['records-create']);
    return this.pg.pool.query(text, values);
  }

  async list(): Promise<T[]> {
    const { rows } = await this.q(this.sql['records-list']);
    return rows.map((r) => r.doc as T);
  }

  async get(name: string): Promise<T | null> {
    const { rows } = await this.q(this.sql['records-get'], [name]);
    return (rows[0]?.doc as T | undefined) ?? null;
  }

  async put(record: T): Promise<void> {
    await this.q(this.sql['records-put'], [record.name, JSON.stringify(record)]);
  }

  async replace(expected: T, next: T): Promise<boolean> {
    const { rows } = await this.q(this.sql['records-replace'], [expected.name, JSON.stringify(expected), JSON.stringify(next)]);
    return rows.length === 1;
  }

  async remove(name: string): Promise<boolean> {
    const { rows } = await this.q(this.sql['records-remove'], [name]);
    return rows.length === 1;
  }
}
