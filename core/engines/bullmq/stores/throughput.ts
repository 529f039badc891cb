// ThroughputStore on Redis: `<prefix>:_conveyor:finished:<queue>:<bucket>` (INCRBY + EXPIRE) and, for the
// dashboard's charts, `<prefix>:_conveyor:minute:<queue>:<minute>` (a hash n / failed / runMs, HINCRBY +
// EXPIRE), one pipeline per flush. Bounded: per queue at most ~362 bucket keys and ~62 minute hashes live
// at once (each expires an hour after its last write).
import type { Redis } from 'ioredis';
import { fillMinutes, MINUTES_KEEP_SECONDS, minuteOfBucket, THROUGHPUT_KEEP_SECONDS } from '../../../metrics/throughput.ts';
import type { QueueMinute, RunSums, ThroughputStore } from '../../../stores.ts';

export class RedisThroughputStore implements ThroughputStore {
  /** `redis` is borrowed: the backend owns it */
  constructor(
    private readonly redis: Redis,
    /** `<prefix>:_conveyor` (keys.ts sideBase) */
    private readonly base: string,
  ) {}

  private key(queue: string, bucket: number) {
    return `${this.base}:finished:${queue}:${bucket}`;
  }

  private minuteKey(queue: string, minute: number) {
    return `${this.base}:minute:${queue}:${minute}`;
  }

  async add(bucket: number, counts: [string, number, RunSums?][]) {
    const pipe = this.redis.pipeline();
    const minute = minuteOfBucket(bucket);
    for (const [queue, n, sums] of counts) {
      pipe.incrby(this.key(queue, bucket), n);
      pipe.expire(this.key(queue, bucket), THROUGHPUT_KEEP_SECONDS);
      if (!sums) continue;
      const mk = this.minuteKey(queue, minute);
      pipe.hincrby(mk, 'n', n);
      if (sums.failed) pipe.hincrby(mk, 'failed', sums.failed);
      if (sums.runMs) pipe.hincrby(mk, 'runMs', sums.runMs);
      pipe.expire(mk, MINUTES_KEEP_SECONDS);
    }
    const res = await pipe.exec();
    const failed = res?.find(([err]) => err);
    if (failed) throw failed[0];
  }

  async read(queues: string[], fromBucket: number, toBucket: number) {
    const out: Record<string, number> = Object.fromEntries(queues.map((q) => [q, 0]));
    const n = toBucket - fromBucket + 1;
    if (queues.length === 0 || n <= 0) return out;
    const keys = queues.flatMap((q) => Array.from({ length: n }, (_, i) => this.key(q, fromBucket + i)));
    const values = await this.redis.mget(...keys);
    queues.forEach((q, qi) => {
      out[q] = values.slice(qi * n, (qi + 1) * n).reduce((a, v) => a + Number(v ?? 0), 0);
    });
    return out;
  }

  async minutes(queues: string[], fromMinute: number, toMinute: number) {
    const out: Record<string, QueueMinute[]> = {};
    const n = Math.max(0, toMinute - fromMinute + 1);
    const pipe = this.redis.pipeline();
    for (const q of queues) for (let i = 0; i < n; i++) pipe.hmget(this.minuteKey(q, fromMinute + i), 'n', 'failed', 'runMs');
    const res = n > 0 && queues.length > 0 ? ((await pipe.exec()) ?? []) : [];
    const failed = res.find(([err]) => err);
    if (failed) throw failed[0];
    queues.forEach((q, qi) => {
      const rows = res.slice(qi * n, (qi + 1) * n).map(([, v], i): QueueMinute => {
        const [fin, fail, run] = (v as (string | null)[]).map((x) => Number(x ?? 0));
        return { minute: fromMinute + i, finished: fin ?? 0, failed: fail ?? 0, runMs: run ?? 0 };
      });
      out[q] = fillMinutes(rows, fromMinute, toMinute);
    });
    return out;
  }
}
