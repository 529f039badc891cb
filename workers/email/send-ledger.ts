// The send ledger: "this job's message was accepted by SMTP". Written after the SMTP server accepts and
// before the job completes, and read before every send, so a retry (crash, timeout, a failure after the
// send) never sends the same job's message twice. Keyed by job id: an idempotent job's id is derived from
// its idempotency key (core/bullmq/engine.ts), so the key is covered too.
//
// It lives in the engine's store (Redis now; a Postgres implementation can follow with the same interface:
// one table, INSERT … ON CONFLICT for `begin`, an UPDATE for `commit`).
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';

export interface SendRecord {
  messageId: string;
  accepted: string[];
  rejected: string[];
  response: string;
  /** ISO time SMTP accepted the message */
  sentAt: string;
  attempt: number;
}

export type BeginResult =
  /** nobody sent it: go ahead, then `commit` (or `release` when nothing was accepted) */
  | { state: 'go'; token: string }
  /** already sent: do not send again */
  | { state: 'sent'; record: SendRecord }
  /** another run of this job is sending right now (a stalled duplicate): try again after `retryInMs` */
  | { state: 'busy'; retryInMs: number };

export interface SendLedger {
  /** claim the right to send for `leaseMs`; the claim lapses by itself if this process dies */
  begin(key: string, leaseMs: number): Promise<BeginResult>;
  /** record an accepted message (kept for the ledger's TTL); call before the job completes */
  commit(key: string, record: SendRecord): Promise<void>;
  /** drop our claim when nothing was accepted, so a retry may send at once */
  release(key: string, token: string): Promise<void>;
  get(key: string): Promise<SendRecord | null>;
  close(): Promise<void>;
}

type Stored = { state: 'sending'; token: string } | ({ state: 'sent' } & SendRecord);

// KEYS[1] ledger key · ARGV[1] token · ARGV[2] lease ms. Returns {"go"} | {"sent", json} | {"busy", pttl}.
const BEGIN = `
local cur = redis.call('GET', KEYS[1])
if not cur then
  redis.call('SET', KEYS[1], cjson.encode({state='sending', token=ARGV[1]}), 'PX', tonumber(ARGV[2]))
  return {'go'}
end
local v = cjson.decode(cur)
if v.state == 'sent' then return {'sent', cur} end
return {'busy', tostring(redis.call('PTTL', KEYS[1]))}
`;
// KEYS[1] ledger key · ARGV[1] token. Deletes the key only while it holds our claim.
const RELEASE = `
local cur = redis.call('GET', KEYS[1])
if not cur then return 0 end
local v = cjson.decode(cur)
if v.state == 'sending' and v.token == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

/** Ledger on Redis: one key per job, `${QUEUE_PREFIX}:_conveyor:email:sent:<jobId>`. */
export class RedisSendLedger implements SendLedger {
  constructor(
    private readonly redis: Redis,
    private readonly opts: { prefix: string; ttlSeconds: number; ownsConnection?: boolean },
  ) {}

  private key(k: string) {
    return `${this.opts.prefix}:_conveyor:email:sent:${k}`;
  }

  async begin(key: string, leaseMs: number): Promise<BeginResult> {
    const token = randomUUID();
    const r = (await this.redis.eval(BEGIN, 1, this.key(key), token, String(Math.max(1, Math.ceil(leaseMs))))) as string[];
    if (r[0] === 'go') return { state: 'go', token };
    if (r[0] === 'sent') return { state: 'sent', record: toRecord(JSON.parse(r[1] as string) as Stored) };
    return { state: 'busy', retryInMs: Math.max(1_000, Number(r[1])) };
  }

  async commit(key: string, record: SendRecord): Promise<void> {
    await this.redis.set(this.key(key), JSON.stringify({ state: 'sent', ...record } satisfies Stored), 'EX', this.opts.ttlSeconds);
  }

  async release(key: string, token: string): Promise<void> {
    await this.redis.eval(RELEASE, 1, this.key(key), token);
  }

  async get(key: string): Promise<SendRecord | null> {
    const raw = await this.redis.get(this.key(key));
    if (!raw) return null;
    const v = JSON.parse(raw) as Stored;
    return v.state === 'sent' ? toRecord(v) : null;
  }

  async close(): Promise<void> {
    if (this.opts.ownsConnection) this.redis.disconnect();
  }
}

function toRecord(v: Stored): SendRecord {
  if (v.state !== 'sent') throw new Error('ledger entry is not a sent record');
  const { state: _state, ...record } = v;
  return record;
}
