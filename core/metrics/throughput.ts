// Recent throughput across every worker process, kept in the queue store itself so any process can read
// it: each worker counts finished runs per queue in memory and adds them once a second to 10-second
// buckets, and (with the failed runs and the run time) to one-minute buckets kept an hour. Readers (GET
// /v1/scaling, /metrics, the supervisor) sum the 10-second buckets of the window; the dashboard's health
// charts read the minutes. The store is the backend's `throughput` role (core/stores.ts): Redis keys beside
// BullMQ, tables beside pg-boss.
import type { QueueMinute, RunSums, ThroughputStore } from '../stores.ts';

export type { QueueMinute, RunSums, ThroughputStore };

export const BUCKET_SECONDS = 10;
/** how long a bucket is kept: the longest SCALING_WINDOW_SECONDS plus slack */
export const THROUGHPUT_KEEP_SECONDS = 3600 + 2 * BUCKET_SECONDS;
/** how long a minute is kept: the charts' hour plus the minute in progress and one of slack */
export const MINUTES_KEEP_SECONDS = 3600 + 120;

export const bucketOf = (ms: number) => Math.floor(ms / 1000 / BUCKET_SECONDS);
export const minuteOf = (ms: number) => Math.floor(ms / 60_000);
/** the minute a 10-second bucket falls in */
export const minuteOfBucket = (bucket: number) => Math.floor((bucket * BUCKET_SECONDS) / 60);

interface Pending extends RunSums {
  n: number;
}

/** Counts finished runs in memory and adds them to the store once a second. */
export class ThroughputRecorder {
  private pending = new Map<string, Pending>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly store: ThroughputStore,
    flushMs = 1000,
    private readonly now: () => number = Date.now,
  ) {
    this.timer = setInterval(() => void this.flush(), flushMs);
    this.timer.unref();
  }

  /** one finished run of `queue`: whether it failed (threw) and how long it ran */
  record(queue: string, run: { failed?: boolean; runMs?: number } = {}) {
    this.merge(queue, { n: 1, failed: run.failed ? 1 : 0, runMs: Math.max(0, Math.round(run.runMs ?? 0)) });
  }

  private merge(queue: string, add: Pending) {
    const p = this.pending.get(queue);
    if (p) {
      p.n += add.n;
      p.failed += add.failed;
      p.runMs += add.runMs;
    } else this.pending.set(queue, { ...add });
  }

  async flush() {
    if (this.pending.size === 0) return;
    const batch = this.pending;
    this.pending = new Map();
    try {
      await this.store.add(
        bucketOf(this.now()),
        [...batch].map(([queue, p]) => [queue, p.n, { failed: p.failed, runMs: p.runMs }]),
      );
    } catch {
      // keep the counts for the next flush rather than lose them
      for (const [queue, p] of batch) this.merge(queue, p);
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

/** The last `count` minutes per queue (the current one last), zeros where nothing finished. */
export function readMinutes(store: ThroughputStore, queues: string[], count: number, now: number) {
  const last = minuteOf(now);
  return store.minutes(queues, last - count + 1, last);
}

/** `rows` (any order, gaps allowed) as one entry per minute `from`..`to`. */
export function fillMinutes(rows: QueueMinute[], from: number, to: number): QueueMinute[] {
  const by = new Map(rows.map((r) => [r.minute, r]));
  return Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => {
    const minute = from + i;
    return by.get(minute) ?? { minute, finished: 0, failed: 0, runMs: 0 };
  });
}
