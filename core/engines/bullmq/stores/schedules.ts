// ScheduleStore on Redis, beside the BullMQ keys:
//   <prefix>:_conveyor:schedules             hash   name → schedule JSON
//   <prefix>:_conveyor:schedules:last-slot   zset   name scored by the last handled slot (ZADD GT: monotonic)
//   <prefix>:_conveyor:schedules:last-job    hash   name → id of the last enqueued job
//   <prefix>:_conveyor:schedule-lock:<name>:<slot ISO>   string (SET NX PX): node-cron's run coordinator
import type { Redis } from 'ioredis';
import type { Named, ScheduleState, ScheduleStore } from '../../../stores.ts';

export class RedisScheduleStore<S extends Named> implements ScheduleStore<S> {
  private readonly key: string;
  private readonly lockPrefix: string;

  /** `redis` is borrowed: the backend owns it */
  constructor(
    private readonly redis: Redis,
    /** `<prefix>:_conveyor` (keys.ts sideBase) */
    base: string,
  ) {
    this.key = `${base}:schedules`;
    this.lockPrefix = `${base}:schedule-lock:`;
  }

  async list(): Promise<S[]> {
    const all = await this.redis.hgetall(this.key);
    return Object.values(all).map((v) => JSON.parse(v) as S);
  }

  async get(name: string): Promise<S | null> {
    const v = await this.redis.hget(this.key, name);
    return v ? (JSON.parse(v) as S) : null;
  }

  async put(schedule: S): Promise<void> {
    await this.redis.hset(this.key, schedule.name, JSON.stringify(schedule));
  }

  async remove(name: string): Promise<boolean> {
    const [[, n]] = (await this.redis
      .multi()
      .hdel(this.key, name)
      .zrem(`${this.key}:last-slot`, name)
      .hdel(`${this.key}:last-job`, name)
      .exec()) as [[Error | null, number]];
    return n === 1;
  }

  async states(): Promise<Map<string, ScheduleState>> {
    const [slots, jobs] = await Promise.all([
      this.redis.zrange(`${this.key}:last-slot`, 0, -1, 'WITHSCORES'),
      this.redis.hgetall(`${this.key}:last-job`),
    ]);
    const out = new Map<string, ScheduleState>();
    for (let i = 0; i < slots.length; i += 2) {
      out.set(slots[i] as string, { lastSlotMs: Number(slots[i + 1]), lastJobId: jobs[slots[i] as string] ?? null });
    }
    for (const [name, jobId] of Object.entries(jobs)) if (!out.has(name)) out.set(name, { lastSlotMs: null, lastJobId: jobId });
    return out;
  }

  async recordFired(name: string, slotMs: number | null, jobId: string | null): Promise<void> {
    const m = this.redis.multi();
    if (slotMs !== null) m.zadd(`${this.key}:last-slot`, 'GT', slotMs, name);
    if (jobId !== null) m.hset(`${this.key}:last-job`, name, jobId);
    await m.exec();
  }

  async claim(key: string, ttlMs: number): Promise<boolean> {
    return (await this.redis.set(`${this.lockPrefix}${key}`, String(process.pid), 'PX', ttlMs, 'NX')) === 'OK';
  }
}
