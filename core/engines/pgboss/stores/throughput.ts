// ThroughputStore on Postgres: `<schema>.conveyor_throughput (queue, bucket, n)` and, for the dashboard's
// charts, `<schema>.conveyor_queue_minute (queue, minute, n, failed, run_ms)` (one upsert each per flush),
// old rows pruned; statements in sql/throughput-*.sql. Its own small pool (max 2), apart from the engine's: the table needs no pg-boss schema
// (it creates the schema itself), so counting never waits for pg-boss to start.
import pg from 'pg';
import { BUCKET_SECONDS, fillMinutes, MINUTES_KEEP_SECONDS, minuteOfBucket, THROUGHPUT_KEEP_SECONDS } from '../../../metrics/throughput.ts';
import type { QueueMinute, RunSums, ThroughputStore } from '../../../stores.ts';
import { type StoreStatements, storeStatements } from './sql.ts';

export class PostgresThroughputStore implements ThroughputStore {
  private readonly pool: pg.Pool;
  private ready: Promise<void> | undefined;
  private readonly sql: StoreStatements;
  private adds = 0;

  constructor(databaseUrl: string, schema: string) {
    if (!/^[a-z_][a-z0-9_]*$/.test(schema)) throw new Error(`throughput: bad schema name "${schema}"`);
    this.sql = storeStatements(schema);
    this.pool = new pg.Pool({ connectionString: databaseUrl, max: 2, idleTimeoutMillis: 10_000, allowExitOnIdle: true });
    this.pool.on('error', () => {}); // an idle client lost its connection: the next query reconnects
  }

  private ensureTable() {
    this.ready ??= (async () => {
      const ddl = this.sql['throughput-create'];
      try {
        await this.pool.query(ddl);
      } catch {
        await this.pool.query(ddl); // two processes creating it at once: the loser's retry finds it
      }
    })().catch((err) => {
      this.ready = undefined;
      throw err;
    });
    return this.ready;
  }

  async add(bucket: number, counts: [string, number, RunSums?][]) {
    await this.ensureTable();
    await this.pool.query(this.sql['throughput-add'], [counts.map(([q]) => q), bucket, counts.map(([, n]) => n)]);
    const detailed = counts.filter((c): c is [string, number, RunSums] => c[2] !== undefined);
    const minute = minuteOfBucket(bucket);
    if (detailed.length > 0) {
      await this.pool.query(this.sql['throughput-add-minutes'], [
        detailed.map(([q]) => q),
        minute,
        detailed.map(([, n]) => n),
        detailed.map(([, , s]) => s.failed),
        detailed.map(([, , s]) => s.runMs),
      ]);
    }
    if (++this.adds % 60 === 1) {
      await this.pool.query(this.sql['throughput-prune'], [bucket - Math.ceil(THROUGHPUT_KEEP_SECONDS / BUCKET_SECONDS)]);
      await this.pool.query(this.sql['throughput-prune-minutes'], [minute - Math.ceil(MINUTES_KEEP_SECONDS / 60)]);
    }
  }

  async minutes(queues: string[], fromMinute: number, toMinute: number) {
    await this.ensureTable();
    type Row = { queue: string; minute: string; n: string; failed: string; run_ms: string };
    const { rows } = await this.pool.query<Row>(this.sql['throughput-minutes'], [queues, fromMinute, toMinute]);
    const by: Record<string, QueueMinute[]> = Object.fromEntries(queues.map((q) => [q, []]));
    for (const r of rows) {
      by[r.queue]?.push({ minute: Number(r.minute), finished: Number(r.n), failed: Number(r.failed), runMs: Number(r.run_ms) });
    }
    return Object.fromEntries(queues.map((q) => [q, fillMinutes(by[q] ?? [], fromMinute, toMinute)]));
  }

  async read(queues: string[], fromBucket: number, toBucket: number) {
    await this.ensureTable();
    const { rows } = await this.pool.query<{ queue: string; n: string }>(this.sql['throughput-read'], [queues, fromBucket, toBucket]);
    const out: Record<string, number> = Object.fromEntries(queues.map((q) => [q, 0]));
    for (const r of rows) out[r.queue] = Number(r.n);
    return out;
  }

  async close() {
    await this.pool.end().catch(() => {});
  }
}
