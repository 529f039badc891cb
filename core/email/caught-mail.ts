// Where the development mail catcher keeps what it caught: Redis, capped at EMAIL_CATCHER_MAX messages
// (oldest dropped first), so the web process can read mail caught by a worker process.
//   ${QUEUE_PREFIX}:_conveyor:email:caught       list of ids, newest first
//   ${QUEUE_PREFIX}:_conveyor:email:caught:data  hash id → message JSON
import type { Redis } from 'ioredis';

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

const keys = (prefix: string) => ({ list: `${prefix}:_conveyor:email:caught`, data: `${prefix}:_conveyor:email:caught:data` });

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

export async function storeCaughtMail(redis: Redis, prefix: string, mail: CaughtMail, cap: number): Promise<void> {
  const k = keys(prefix);
  await redis.eval(STORE, 2, k.list, k.data, mail.id, JSON.stringify(mail), String(cap));
}

/** Newest first. */
export async function listCaughtMail(redis: Redis, prefix: string, limit = 50): Promise<CaughtMailSummary[]> {
  const k = keys(prefix);
  const ids = await redis.lrange(k.list, 0, Math.max(0, limit - 1));
  if (ids.length === 0) return [];
  const raws = await redis.hmget(k.data, ...ids);
  return raws
    .filter((r): r is string => r !== null)
    .map((r) => {
      const m = JSON.parse(r) as CaughtMail;
      return { id: m.id, receivedAt: m.receivedAt, subject: m.subject, from: m.from, to: m.to, size: m.size };
    });
}

export async function getCaughtMail(redis: Redis, prefix: string, id: string): Promise<CaughtMail | null> {
  const raw = await redis.hget(keys(prefix).data, id);
  return raw ? (JSON.parse(raw) as CaughtMail) : null;
}

export async function clearCaughtMail(redis: Redis, prefix: string): Promise<void> {
  const k = keys(prefix);
  await redis.del(k.list, k.data);
}
