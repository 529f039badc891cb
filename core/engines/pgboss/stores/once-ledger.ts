// OnceLedger on Postgres, in the engine's schema: one table per ledger name (`email:sent` →
// conveyor_email_sent): (key PK, state 'sending'|'sent', token, record jsonb, expires_at).
// An expired row counts as absent: a lapsed claim (process died mid-send) or a record past its TTL.
import { randomUUID } from 'node:crypto';
import type { BeginResult, OnceLedger } from '../../../stores.ts';
import { ensureTables, type PgStore, tableName } from './tables.ts';

export class PostgresOnceLedger<R extends object> implements OnceLedger<R> {
  private lastSweep = 0;
  private readonly table: string;

  constructor(
    private readonly store: PgStore,
    private readonly opts: { name: string; ttlSeconds: number },
  ) {
    this.table = `${store.schema}.${tableName(opts.name)}`;
  }

  private async q(text: string, values: unknown[]) {
    await ensureTables(
      this.store,
      `CREATE TABLE IF NOT EXISTS ${this.table} (
         key text PRIMARY KEY,
         state text NOT NULL CHECK (state IN ('sending', 'sent')),
         token text,
         record jsonb,
         expires_at timestamptz NOT NULL)`,
    );
    return this.store.pool.query(text, values);
  }

  async begin(key: string, leaseMs: number): Promise<BeginResult<R>> {
    const token = randomUUID();
    const claimed = await this.q(
      `INSERT INTO ${this.table} AS t (key, state, token, record, expires_at)
       VALUES ($1, 'sending', $2, NULL, now() + $3 * interval '1 millisecond')
       ON CONFLICT (key) DO UPDATE SET state = 'sending', token = excluded.token, record = NULL, expires_at = excluded.expires_at
         WHERE t.expires_at <= now()
       RETURNING key`,
      [key, token, Math.max(1, Math.ceil(leaseMs))],
    );
    if (claimed.rowCount === 1) {
      await this.sweep();
      return { state: 'go', token };
    }
    const { rows } = await this.q(
      `SELECT state, record, GREATEST(0, EXTRACT(EPOCH FROM (expires_at - now())) * 1000)::bigint AS left_ms
       FROM ${this.table} WHERE key = $1`,
      [key],
    );
    const row = rows[0];
    if (!row) return this.begin(key, leaseMs); // the row expired and went away between the two statements
    if (row.state === 'sent') return { state: 'done', record: row.record as R };
    return { state: 'busy', retryInMs: Math.max(1_000, Number(row.left_ms)) };
  }

  async commit(key: string, record: R): Promise<void> {
    await this.q(
      `INSERT INTO ${this.table} AS t (key, state, token, record, expires_at)
       VALUES ($1, 'sent', NULL, $2, now() + $3 * interval '1 second')
       ON CONFLICT (key) DO UPDATE SET state = 'sent', token = NULL, record = excluded.record, expires_at = excluded.expires_at`,
      [key, JSON.stringify(record), this.opts.ttlSeconds],
    );
  }

  async release(key: string, token: string): Promise<void> {
    await this.q(`DELETE FROM ${this.table} WHERE key = $1 AND state = 'sending' AND token = $2`, [key, token]);
  }

  async get(key: string): Promise<R | null> {
    const { rows } = await this.q(`SELECT record FROM ${this.table} WHERE key = $1 AND state = 'sent' AND expires_at > now()`, [key]);
    return (rows[0]?.record as R | undefined) ?? null;
  }

  /** Drop long-expired rows now and then (at most once a minute per process). */
  private async sweep() {
    if (Date.now() - this.lastSweep < 60_000) return;
    this.lastSweep = Date.now();
    await this.q(`DELETE FROM ${this.table} WHERE expires_at < now() - interval '1 hour'`, []).catch(() => {});
  }
}
