// ThroughputStore on Postgres: `<schema>.conveyor_throughput (queue, bucket, n)` (one upsert per flush),
// old rows pruned. Its own small pool (max 2), apart from the engine's: the table needs no pg-boss schema
// (it creates the schema itself), so counting never waits for pg-boss to start.
import pg from 'pg';
import { BUCKET_SECONDS, THROUGHPUT_KEEP_SECONDS } from '../../../metrics/throughput.ts';
import type { ThroughputStore } from '../../../stores.ts';

export class PostgresThroughputStore implements ThroughputStore {
  private readonly pool: pg.Pool;
  private ready: Promise<void> | undefined;
  private readonly table: string;
  private adds = 0;

  constructor(
    databaseUrl: string,
    private readonly schema: string,
  ) {
    if (!/^[a-z_][a-z0-9_]*$/.test(schema)) throw new Error(`throughput: bad schema name "${schema}"`);
    this.table = `${schema}.conveyor_throughput`;
    this.pool = new pg.Pool({ connectionString: databaseUrl, max: 2, idleTimeoutMillis: 10_000, allowExitOnIdle: true });
    this.pool.on('error', () => {}); // an idle client lost its connection: the next query reconnects
  }

  private ensureTable() {
    this.ready ??= (async () => {
      const ddl = `CREATE SCHEMA IF NOT EXISTS ${this.schema};
        CREATE TABLE IF NOT EXISTS ${this.table} (queue text NOT NULL, bucket bigint NOT NULL, n bigint NOT NULL, PRIMARY KEY (queue, bucket))`;
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
    await this.pool.query(
      `INSERT INTO ${this.table} AS t (queue, bucket, n) SELECT q, $2, c FROM unnest($1::text[], $3::bigint[]) AS u(q, c)
       ON CONFLICT (queue, bucket) DO UPDATE SET n = t.n + excluded.n`,
      [counts.map(([q]) => q), bucket, counts.map(([, n]) => n)],
    );
    if (++this.adds % 60 === 1) {
      await this.pool.query(`DELETE FROM ${this.table} WHERE bucket < $1`, [bucket - Math.ceil(THROUGHPUT_KEEP_SECONDS / BUCKET_SECONDS)]);
    }
  }

  async read(queues: string[], fromBucket: number, toBucket: number) {
    await this.ensureTable();
    const { rows } = await this.pool.query<{ queue: string; n: string }>(
      `SELECT queue, sum(n)::bigint AS n FROM ${this.table} WHERE queue = ANY($1) AND bucket BETWEEN $2 AND $3 GROUP BY queue`,
      [queues, fromBucket, toBucket],
    );
    const out: Record<string, number> = Object.fromEntries(queues.map((q) => [q, 0]));
    for (const r of rows) out[r.queue] = Number(r.n);
    return out;
  }

  async close() {
    await this.pool.end().catch(() => {});
  }
}
