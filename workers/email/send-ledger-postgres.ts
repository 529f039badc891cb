// The send ledger on Postgres (pg-boss engine), in the engine's schema. Same contract as the Redis one
// (core/email/send-ledger.ts). Table:
//   conveyor_email_sent (key PK, state 'sending'|'sent', token, record jsonb, expires_at)
// An expired row counts as absent: a lapsed claim (process died mid-send) or a sent record past its TTL.
import { randomUUID } from 'node:crypto';
import { ensureTables, type PostgresStore } from './postgres-store.ts';
import type { BeginResult, SendLedger, SendRecord } from './send-ledger.ts';

export class PostgresSendLedger implements SendLedger {
  private lastSweep = 0;

  constructor(
    private readonly store: PostgresStore,
    private readonly opts: { ttlSeconds: number },
  ) {}

  private get table() {
    return `${this.store.schema}.conveyor_email_sent`;
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

  async begin(key: string, leaseMs: number): Promise<BeginResult> {
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
    if (row.state === 'sent') return { state: 'sent', record: row.record as SendRecord };
    return { state: 'busy', retryInMs: Math.max(1_000, Number(row.left_ms)) };
  }

  async commit(key: string, record: SendRecord): Promise<void> {
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

  async get(key: string): Promise<SendRecord | null> {
    const { rows } = await this.q(`SELECT record FROM ${this.table} WHERE key = $1 AND state = 'sent' AND expires_at > now()`, [key]);
    return (rows[0]?.record as SendRecord | undefined) ?? null;
  }

  /** Drop long-expired rows now and then (at most once a minute per process). */
  private async sweep() {
    if (Date.now() - this.lastSweep < 60_000) return;
    this.lastSweep = Date.now();
    await this.q(`DELETE FROM ${this.table} WHERE expires_at < now() - interval '1 hour'`, []).catch(() => {});
  }

  async close(): Promise<void> {}
}
