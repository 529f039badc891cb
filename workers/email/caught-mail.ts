// Where the development mail catcher keeps what it caught, in the engine's store, capped at
// EMAIL_CATCHER_MAX messages (oldest dropped first), so the web process can read mail a worker caught.
//   Redis:    ${QUEUE_PREFIX}:_conveyor:email:caught       list of ids, newest first
//             ${QUEUE_PREFIX}:_conveyor:email:caught:data  hash id → message JSON
//   Postgres: <schema>.conveyor_email_caught (id, received_at, mail jsonb)
import type { Redis } from 'ioredis';
import type { Engine } from '../../core/engine.ts';
import type { EmailConfig } from './config.ts';
import { ensureTables, type PostgresStore, postgresStoreOf } from './postgres-store.ts';

export interface CaughtMail {
  id: string;
  receivedAt: string;
  /** the SMTP envelope (what the transport said), not the headers */
  envelope: { from: string | null; to: string[] };
  subject: string;
  from: string;
  to: string;
  replyTo: string | null;
  messageId: string | null;
  /** every header line as sent, in order */
  headers: { name: string; value: string }[];
  html: string | null;
  text: string | null;
  attachments: { filename: string | null; contentType: string; size: number }[];
  size: number;
}

export type CaughtMailSummary = Pick<CaughtMail, 'id' | 'receivedAt' | 'subject' | 'from' | 'to' | 'size'>;

export interface CaughtMailStore {
  store(mail: CaughtMail, cap: number): Promise<void>;
  /** newest first */
  list(limit: number): Promise<CaughtMail[]>;
  get(id: string): Promise<CaughtMail | null>;
  clear(): Promise<void>;
}

// KEYS[1] list · KEYS[2] hash · ARGV[1] id · ARGV[2] json · ARGV[3] cap
const STORE = `
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('LPUSH', KEYS[1], ARGV[1])
local cap = tonumber(ARGV[3])
while redis.call('LLEN', KEYS[1]) > cap do
  local old = redis.call('RPOP', KEYS[1])
  redis.call('HDEL', KEYS[2], old)
end
return 1
`;

export class RedisCaughtMailStore implements CaughtMailStore {
  private readonly list_: string;
  private readonly data: string;
  constructor(
    private readonly redis: Redis,
    prefix: string,
  ) {
    this.list_ = `${prefix}:_conveyor:email:caught`;
    this.data = `${prefix}:_conveyor:email:caught:data`;
  }
  async store(mail: CaughtMail, cap: number) {
    await this.redis.eval(STORE, 2, this.list_, this.data, mail.id, JSON.stringify(mail), String(cap));
  }
  async list(limit: number) {
    const ids = await this.redis.lrange(this.list_, 0, Math.max(0, limit - 1));
    if (ids.length === 0) return [];
    const raws = await this.redis.hmget(this.data, ...ids);
    return raws.filter((r): r is string => r !== null).map((r) => JSON.parse(r) as CaughtMail);
  }
  async get(id: string) {
    const raw = await this.redis.hget(this.data, id);
    return raw ? (JSON.parse(raw) as CaughtMail) : null;
  }
  async clear() {
    await this.redis.del(this.list_, this.data);
  }
}

export class PostgresCaughtMailStore implements CaughtMailStore {
  constructor(private readonly pg: PostgresStore) {}
  private get table() {
    return `${this.pg.schema}.conveyor_email_caught`;
  }
  private async q(text: string, values: unknown[] = []) {
    await ensureTables(
      this.pg,
      `CREATE TABLE IF NOT EXISTS ${this.table} (id text PRIMARY KEY, received_at timestamptz NOT NULL, seq bigserial, mail jsonb NOT NULL)`,
    );
    return this.pg.pool.query(text, values);
  }
  async store(mail: CaughtMail, cap: number) {
    await this.q(
      `WITH ins AS (INSERT INTO ${this.table} (id, received_at, mail) VALUES ($1, $2, $3) RETURNING seq)
       DELETE FROM ${this.table} WHERE seq <= (SELECT seq FROM ins) - $4`,
      [mail.id, mail.receivedAt, JSON.stringify(mail), cap],
    );
  }
  async list(limit: number) {
    const { rows } = await this.q(`SELECT mail FROM ${this.table} ORDER BY seq DESC LIMIT $1`, [limit]);
    return rows.map((r) => r.mail as CaughtMail);
  }
  async get(id: string) {
    const { rows } = await this.q(`SELECT mail FROM ${this.table} WHERE id = $1`, [id]);
    return (rows[0]?.mail as CaughtMail | undefined) ?? null;
  }
  async clear() {
    await this.q(`DELETE FROM ${this.table}`);
  }
}

/** The store that goes with the engine: Postgres for pgboss, else Redis (`redis` required then). */
export function caughtMailStore(deps: { engine: Engine; config: Pick<EmailConfig, 'QUEUE_PREFIX'>; redis?: Redis }): CaughtMailStore {
  const pg = postgresStoreOf(deps.engine);
  if (pg) return new PostgresCaughtMailStore(pg);
  if (!deps.redis) throw new Error('caught mail on the bullmq engine needs a Redis connection');
  return new RedisCaughtMailStore(deps.redis, deps.config.QUEUE_PREFIX);
}

const summarize = (m: CaughtMail): CaughtMailSummary => ({
  id: m.id,
  receivedAt: m.receivedAt,
  subject: m.subject,
  from: m.from,
  to: m.to,
  size: m.size,
});

/** Newest first. */
export async function listCaughtMail(store: CaughtMailStore, limit = 50): Promise<CaughtMailSummary[]> {
  return (await store.list(limit)).map(summarize);
}

export async function getCaughtMail(store: CaughtMailStore, id: string): Promise<CaughtMail | null> {
  return store.get(id);
}
