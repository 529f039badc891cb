// RecordStore on Redis, beside the BullMQ keys:
//   <side base>:records:<name>   hash   record name → record JSON (side base: <prefix>:_conveyor, or
//   <prefix>:{_conveyor} on a Redis Cluster)
import type { Redis } from 'ioredis';
import type { Named, RecordStore } from '../../../stores.ts';

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

  async remove(name: string): Promise<boolean> {
    return (await this.redis.hdel(this.key, name)) === 1;
  }
}
