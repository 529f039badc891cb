// Recent throughput across every worker process, kept in the queue store itself so any process can read
// it: each worker counts finished runs per queue in memory and adds them once a second to 10-second
// buckets. Readers (GET /v1/scaling, /metrics, the supervisor) sum the buckets of the window.
// The store is the backend's `throughput` role (core/stores.ts): Redis keys beside BullMQ, a table beside pg-boss.
import type { ThroughputStore } from '../stores.ts';

export type { ThroughputStore };

export const BUCKET_SECONDS = 10;
/** how long a bucket is kept: the longest SCALING_WINDOW_SECONDS plus slack */
export const THROUGHPUT_KEEP_SECONDS = 3600 + 2 * BUCKET_SECONDS;

export const bucketOf = (ms: number) => Math.floor(ms / 1000 / BUCKET_SECONDS);

/** Counts finished runs in memory and adds them to the store once a second. */
export class ThroughputRecorder {
  private pending = new Map<string, number>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly store: ThroughputStore,
    flushMs = 1000,
    private readonly now: () => number = Date.now,
  ) {
    this.timer = setInterval(() => void this.flush(), flushMs);
    this.timer.unref();
  }

  record(queue: string) {
    this.pending.set(queue, (this.pending.get(queue) ?? 0) + 1);
  }

  async flush() {
    if (this.pending.size === 0) return;
    const batch = this.pending;
    this.pending = new Map();
    try {
      await this.store.add(bucketOf(this.now()), [...batch]);
    } catch {
      // keep the counts for the next flush rather than lose them
      for (const [queue, n] of batch) this.pending.set(queue, (this.pending.get(queue) ?? 0) + n);
    }
  }

  async close() {
    clearInterval(this.timer);
    await this.flush();
  }
}

/** Finished runs per queue over the last `windowSeconds` (whole buckets, the current one included). */
export function readFinished(store: ThroughputStore, queues: string[], windowSeconds: number, now: number) {
  const last = bucketOf(now);
  return store.read(queues, last - Math.max(1, Math.ceil(windowSeconds / BUCKET_SECONDS)) + 1, last);
}
