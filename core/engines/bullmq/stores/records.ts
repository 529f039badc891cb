// RecordStore on Redis, beside the BullMQ keys:
//   <side base>:records:<name>   hash   record name → record JSON (side base: <prefix>:_conveyor, or
//   <prefix>:{_conveyor} on a Redis Cluster)
import type { Redis } from 'ioredis';
import type { Named, RecordStore } from '../../../stores.ts';

/** HSET field ARGV[1] to ARGV[3] only if it holds ARGV[2]: 1 when set */
const REPLACE = `if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
  return 1
end
return 0`;

export class RedisRecordStore<T extends Named> implements RecordStore<T> {
  private readonly key: string;

  /** `redis` is borrowed: the backend owns it */
  constructor(
    private readonly redis: Redis,
    base: string,
    name: string,
  ) {
    this.key = `${base}:records:${name}`;
  }

  async list(): Promise<T[]> {
    const all = await this.redis.hgetall(this.key);
    return Object.keys(all)
      .sort()
      .map((k) => JSON.parse(all[k] as string) as T);
  }

  async get(name: string): Promise<T | null> {
    const v = await this.redis.hget(this.key, name);
    return v ? (JSON.parse(v) as T) : null;
  }

  async put(record: T): Promise<void> {
    await this.redis.hset(this.key, record.name, JSON.stringify(record));
  }

  async replace(expected: T, next: T): Promise<boolean> {
    // the stored JSON is what put wrote, and get's parse then stringify gives it back unchanged
    return (await this.redis.eval(REPLACE, 1, this.key, next.name, JSON.stringify(expected), JSON.stringify(next))) === 1;
  }

  async remove(name: string): Promise<boolean> {
    return (await this.redis.hdel(this.key, name)) === 1;
  }
}
