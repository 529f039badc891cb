// ThroughputStore on Redis: `<prefix>:_conveyor:finished:<queue>:<bucket>` (INCRBY + EXPIRE, one pipeline).
import type { Redis } from 'ioredis';
import { THROUGHPUT_KEEP_SECONDS } from '../../../metrics/throughput.ts';
import type { ThroughputStore } from '../../../stores.ts';

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

  async add(bucket: number, counts: [string, number][]) {
    const pipe = this.redis.pipeline();
    for (const [queue, n] of counts) {
      pipe.incrby(this.key(queue, bucket), n);
      pipe.expire(this.key(queue, bucket), THROUGHPUT_KEEP_SECONDS);
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
}
