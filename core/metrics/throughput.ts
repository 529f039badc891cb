// Recent throughput across every worker process, through Redis: each worker counts finished jobs per
// queue in memory and adds them once a second to 10-second buckets
// (`<prefix>:_conveyor:finished:<queue>:<bucket>`, INCRBY + EXPIRE). Readers (GET /v1/scaling,
// /metrics, the supervisor) sum the buckets of the window. One pipeline per second per worker process,
// not one command per job.
import type { Redis } from 'ioredis';

export const BUCKET_SECONDS = 10;
const KEEP_SECONDS = 3600 + 2 * BUCKET_SECONDS; // the longest SCALING_WINDOW_SECONDS plus slack

const bucketOf = (ms: number) => Math.floor(ms / 1000 / BUCKET_SECONDS);
const keyOf = (prefix: string, queue: string, bucket: number) => `${prefix}:_conveyor:finished:${queue}:${bucket}`;

export class ThroughputRecorder {
  private pending = new Map<string, number>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    flushMs = 1000,
    private readonly now: () => number = Date.now,
  ) {
    this.timer = setInterval(() => void this.flush().catch(() => {}), flushMs);
    this.timer.unref();
  }

  record(queue: string) {
    this.pending.set(queue, (this.pending.get(queue) ?? 0) + 1);
  }

  async flush() {
    if (this.pending.size === 0) return;
    const batch = this.pending;
    this.pending = new Map();
    const bucket = bucketOf(this.now());
    const pipe = this.redis.pipeline();
    for (const [queue, n] of batch) {
      const key = keyOf(this.prefix, queue, bucket);
      pipe.incrby(key, n);
      pipe.expire(key, KEEP_SECONDS);
    }
    const res = await pipe.exec();
    if (res?.some(([err]) => err)) {
      // keep the counts for the next flush rather than lose them
      for (const [queue, n] of batch) this.pending.set(queue, (this.pending.get(queue) ?? 0) + n);
    }
  }

  async close() {
    clearInterval(this.timer);
    await this.flush().catch(() => {});
  }
}

/** Jobs finished per queue over the last `windowSeconds` (whole buckets, the current one included). */
export async function readFinished(
  redis: Redis,
  prefix: string,
  queues: string[],
  windowSeconds: number,
  now: number,
): Promise<Record<string, number>> {
  const last = bucketOf(now);
  const n = Math.max(1, Math.ceil(windowSeconds / BUCKET_SECONDS));
  const out: Record<string, number> = {};
  if (queues.length === 0) return out;
  const keys = queues.flatMap((q) => Array.from({ length: n }, (_, i) => keyOf(prefix, q, last - i)));
  const values = await redis.mget(...keys);
  queues.forEach((q, qi) => {
    out[q] = values.slice(qi * n, (qi + 1) * n).reduce((a, v) => a + Number(v ?? 0), 0);
  });
  return out;
}
