// Recent throughput across every worker process, kept in the queue store itself so any process can read
// it: each worker counts finished runs per queue in memory and adds them once a second to 10-second
// buckets. Readers (GET /v1/scaling, /metrics, the supervisor) sum the buckets of the window.
// - bullmq: Redis keys `<prefix>:_conveyor:finished:<queue>:<bucket>` (INCRBY + EXPIRE, one pipeline).
// - pgboss: a table `<schema>.conveyor_throughput (queue, bucket, n)` (one upsert), old rows pruned.
import type { Redis } from 'ioredis';
import pg from 'pg';
import type { KernelConfig } from '../config/index.ts';
import type { Engine } from '../engine.ts';
import { createRedis } from '../engines/bullmq/redis.ts';

export const BUCKET_SECONDS = 10;
const KEEP_SECONDS = 3600 + 2 * BUCKET_SECONDS; // the longest SCALING_WINDOW_SECONDS plus slack

export const bucketOf = (ms: number) => Math.floor(ms / 1000 / BUCKET_SECONDS);

export interface ThroughputStore {
  add(bucket: number, counts: [queue: string, n: number][]): Promise<void>;
  /** finished runs per queue in buckets >= `fromBucket` */
  read(queues: string[], fromBucket: number, toBucket: number): Promise<Record<string, number>>;
  close(): Promise<void>;
}

export class RedisThroughputStore implements ThroughputStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly owned = false,
  ) {}

  private key(queue: string, bucket: number) {
    return `${this.prefix}:_conveyor:finished:${queue}:${bucket}`;
  }

  async add(bucket: number, counts: [string, number][]) {
    const pipe = this.redis.pipeline();
    for (const [queue, n] of counts) {
      pipe.incrby(this.key(queue, bucket), n);
      pipe.expire(this.key(queue, bucket), KEEP_SECONDS);
    }
    const res = await pipe.exec();
    const failed = res?.find(([err]) => err);
    if (failed) throw failed[0];
  }

  async read(queues: string[], fromBucket: number, toBucket: number) {
    const out: Record<string, number> = {};
    const n = toBucket - fromBucket + 1;
    if (queues.length === 0 || n <= 0) return out;
    const keys = queues.flatMap((q) => Array.from({ length: n }, (_, i) => this.key(q, fromBucket + i)));
    const values = await this.redis.mget(...keys);
    queues.forEach((q, qi) => {
      out[q] = values.slice(qi * n, (qi + 1) * n).reduce((a, v) => a + Number(v ?? 0), 0);
    });
    return out;
  }

  async close() {
    if (this.owned) this.redis.disconnect();
  }
}

export class PostgresThroughputStore implements ThroughputStore {
  private readonly pool: pg.Pool;
  private ready: Promise<void> | undefined;
  private readonly table: string;
  private adds = 0;
  private readonly schema: string;

  constructor(databaseUrl: string, schema: string) {
    if (!/^[a-z_][a-z0-9_]*$/.test(schema)) throw new Error(`throughput: bad schema name "${schema}"`);
    this.table = `${schema}.conveyor_throughput`;
    this.pool = new pg.Pool({ connectionString: databaseUrl, max: 2, idleTimeoutMillis: 10_000, allowExitOnIdle: true });
    this.pool.on('error', () => {}); // an idle client lost its connection: the next query reconnects
    this.schema = schema;
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
      await this.pool.query(`DELETE FROM ${this.table} WHERE bucket < $1`, [bucket - Math.ceil(KEEP_SECONDS / BUCKET_SECONDS)]);
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

/** The store that matches the engine: Redis beside BullMQ, a table beside pg-boss. */
export function throughputStoreFor(config: KernelConfig, engine: Engine, redis?: Redis): ThroughputStore {
  if (engine.kind === 'pgboss') {
    const schema = (engine as Engine & { schema?: string }).schema;
    if (!config.DATABASE_URL || !schema) throw new Error('throughput: the pgboss engine needs DATABASE_URL');
    return new PostgresThroughputStore(config.DATABASE_URL, schema);
  }
  if (redis) return new RedisThroughputStore(redis, config.QUEUE_PREFIX);
  const own = createRedis(config.REDIS_URL, 'producer');
  own.on('error', () => {}); // reported by the engine's own connection
  return new RedisThroughputStore(own, config.QUEUE_PREFIX, true);
}

/** Counts finished runs in memory and adds them to the store once a second. */
export class ThroughputRecorder {
  private pending = new Map<string, number>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly store: ThroughputStore,
    flushMs = 1000,
    private readonly now: () => number = Date.now,
  ) {
    this.timer = setInterval(() => void this.flush(), flushMs);
    this.timer.unref();
  }

  record(queue: string) {
    this.pending.set(queue, (this.pending.get(queue) ?? 0) + 1);
  }

  async flush() {
    if (this.pending.size === 0) return;
    const batch = this.pending;
    this.pending = new Map();
    try {
      await this.store.add(bucketOf(this.now()), [...batch]);
    } catch {
      // keep the counts for the next flush rather than lose them
      for (const [queue, n] of batch) this.pending.set(queue, (this.pending.get(queue) ?? 0) + n);
    }
  }

  async close() {
    clearInterval(this.timer);
    await this.flush();
  }
}

/** Finished runs per queue over the last `windowSeconds` (whole buckets, the current one included). */
export function readFinished(store: ThroughputStore, queues: string[], windowSeconds: number, now: number) {
  const last = bucketOf(now);
  return store.read(queues, last - Math.max(1, Math.ceil(windowSeconds / BUCKET_SECONDS)) + 1, last);
}
