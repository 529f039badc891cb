// RecentList on Redis (the mail catcher's `email:caught`):
//   <prefix>:_conveyor:<name>        list of ids, newest first
//   <prefix>:_conveyor:<name>:data   hash id → document JSON
import type { Redis } from 'ioredis';
import type { RecentList } from '../../../stores.ts';

// KEYS[1] list · KEYS[2] hash · ARGV[1] id · ARGV[2] json · ARGV[3] cap
const PUSH = `
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('LPUSH', KEYS[1], ARGV[1])
local cap = tonumber(ARGV[3])
while redis.call('LLEN', KEYS[1]) > cap do
  local old = redis.call('RPOP', KEYS[1])
  redis.call('HDEL', KEYS[2], old)
end
return 1
`;

export class RedisRecentList<T extends { id: string }> implements RecentList<T> {
  private readonly ids: string;
  private readonly data: string;

  /** `redis` is borrowed: the backend owns it */
  constructor(
    private readonly redis: Redis,
    /** `<prefix>:_conveyor` (keys.ts sideBase) */
    base: string,
    name: string,
  ) {
    this.ids = `${base}:${name}`;
    this.data = `${base}:${name}:data`;
  }

  async push(doc: T, cap: number) {
    await this.redis.eval(PUSH, 2, this.ids, this.data, doc.id, JSON.stringify(doc), String(cap));
  }

  async list(limit: number) {
    const ids = await this.redis.lrange(this.ids, 0, Math.max(0, limit - 1));
    if (ids.length === 0) return [];
    const raws = await this.redis.hmget(this.data, ...ids);
    return raws.filter((r): r is string => r !== null).map((r) => JSON.parse(r) as T);
  }

  async get(id: string) {
    const raw = await this.redis.hget(this.data, id);
    return raw ? (JSON.parse(raw) as T) : null;
  }

  async clear() {
    await this.redis.del(this.ids, this.data);
  }
}
