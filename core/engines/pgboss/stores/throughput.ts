// ThroughputStore on Postgres: `<schema>.conveyor_throughput (queue, bucket, n)` (one upsert per flush),
// old rows pruned; statements in sql/throughput-*.sql. Its own small pool (max 2), apart from the engine's: the table needs no pg-boss schema
// (it creates the schema itself), so counting never waits for pg-boss to start.
import pg from 'pg';
import { BUCKET_SECONDS, THROUGHPUT_KEEP_SECONDS } from '../../../metrics/throughput.ts';
import type { ThroughputStore } from '../../../stores.ts';
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

  async add(bucket: number, counts: [string, number][]) {
    await this.ensureTable();
    await this.pool.query(this.sql['throughput-add'], [counts.map(([q]) => q), bucket, counts.map(([, n]) => n)]);
    if (++this.adds % 60 === 1) {
      await this.pool.query(this.sql['throughput-prune'], [bucket - Math.ceil(THROUGHPUT_KEEP_SECONDS / BUCKET_SECONDS)]);
    }
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
