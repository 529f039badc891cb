// OnceLedger on Postgres, in the engine's schema: one table per ledger name (`email:sent` →
// conveyor_email_sent): (key PK, state 'sending'|'sent', token, record jsonb, expires_at); statements in
// sql/ledger-*.sql. An expired row counts as absent: a lapsed claim (process died mid-send) or a record
// past its TTL.
import { randomUUID } from 'node:crypto';
import type { BeginResult, OnceLedger } from '../../../stores.ts';
import { type StoreStatements, storeStatements } from './sql.ts';
import { ensureTables, type PgStore, tableName } from './tables.ts';

export class PostgresOnceLedger<R extends object> implements OnceLedger<R> {
  private lastSweep = 0;
  private readonly sql: StoreStatements;

  constructor(
    private readonly store: PgStore,
    private readonly opts: { name: string; ttlSeconds: number },
  ) {
    this.sql = storeStatements(store.schema, tableName(opts.name));
  }

  private async q(text: string, values: unknown[]) {
    await ensureTables(this.store, this.sql['ledger-create']);
    return this.store.pool.query(text, values);
  }

  async begin(key: string, leaseMs: number): Promise<BeginResult<R>> {
    const token = randomUUID();
    const claimed = await this.q(this.sql['ledger-claim'], [key, token, Math.max(1, Math.ceil(leaseMs))]);
    if (claimed.rowCount === 1) {
      await this.sweep();
      return { state: 'go', token };
    }
    const { rows } = await this.q(this.sql['ledger-read'], [key]);
    const row = rows[0];
    if (!row) return this.begin(key, leaseMs); // the row expired and went away between the two statements
    if (row.state === 'sent') return { state: 'done', record: row.record as R };
    return { state: 'busy', retryInMs: Math.max(1_000, Number(row.left_ms)) };
  }

  async commit(key: string, record: R): Promise<void> {
    await this.q(this.sql['ledger-commit'], [key, JSON.stringify(record), this.opts.ttlSeconds]);
  }

  async release(key: string, token: string): Promise<void> {
    await this.q(this.sql['ledger-release'], [key, token]);
  }

  async get(key: string): Promise<R | null> {
    const { rows } = await this.q(this.sql['ledger-get'], [key]);
    return (rows[0]?.record as R | undefined) ?? null;
  }

  /** Drop long-expired rows now and then (at most once a minute per process). */
  private async sweep() {
    if (Date.now() - this.lastSweep < 60_000) return;
    this.lastSweep = Date.now();
    await this.q(this.sql['ledger-sweep'], []).catch(() => {});
  }
}
