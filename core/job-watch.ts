// Waiting on one job without polling: subscribe to its events (Engine.watchJob), then read it; every event
// re-reads it. Events are hints, the read is the record, so a lost event costs at most the wait, never a
// wrong answer. Used by GET /v1/jobs/:id?wait= (long-poll) and GET /v1/jobs/:id/events (SSE).
import { type Engine, FINAL_STATES, type JobEvent, type JobView } from './engine.ts';

/** Resolves on the next event, the deadline or the abort, whichever comes first. */
class Wakeup {
  private resolve: (() => void) | undefined;
  private pending = false;

  wake = () => {
    if (this.resolve) this.resolve();
    else this.pending = true;
  };

  next(ms: number, signal?: AbortSignal): Promise<void> {
    if (this.pending || signal?.aborted) {
      this.pending = false;
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        this.resolve = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal?.addEventListener('abort', done, { once: true });
      this.resolve = done;
    });
  }
}

/**
 * The job once it is final, or as it is when `waitMs` has passed (or `signal` fired); null when there is
 * no such job. `read` is how the caller reads it (the route reads with its own permission checks).
 */
export async function waitUntilFinal(
  engine: Engine,
  id: string,
  waitMs: number,
  read: () => Promise<JobView | null>,
  signal?: AbortSignal,
  /** called once the watch is live and the job was read not final: from here an event wakes the wait */
  onWatching?: () => void,
): Promise<JobView | null> {
  const deadline = Date.now() + waitMs;
  const wakeup = new Wakeup();
  const off = await engine.watchJob(id, wakeup.wake);
  try {
    for (;;) {
      const job = await read();
      const left = deadline - Date.now();
      if (!job || FINAL_STATES.has(job.state) || left <= 0 || signal?.aborted) return job;
      onWatching?.();
      onWatching = undefined;
      await wakeup.next(left, signal);
    }
  } finally {
    off();
  }
}

export interface JobChange {
  event: 'state' | 'progress';
  job: JobView;
}

/**
 * Every change of one job from now on: the job as it is first, then one `state` item per state change and
 * one `progress` item per new progress value (both when one read shows both, a final state last), ending
 * after a final state (or when `signal` fires).
 */
export async function* jobChanges(
  engine: Engine,
  id: string,
  read: () => Promise<JobView | null>,
  signal: AbortSignal,
): AsyncGenerator<JobChange> {
  const wakeup = new Wakeup();
  const off = await engine.watchJob(id, (_e: JobEvent) => wakeup.wake());
  try {
    let last: JobView | undefined;
    while (!signal.aborted) {
      const job = await read();
      if (!job) return;
      // one read may show a new state and a new progress (events coalesce): both are told, the
      // final state last
      const moved = last !== undefined && JSON.stringify(job.progress ?? null) !== JSON.stringify(last.progress ?? null);
      const final = FINAL_STATES.has(job.state);
      if (moved && final) yield { event: 'progress', job };
      if (!last || job.state !== last.state) yield { event: 'state', job };
      if (moved && !final) yield { event: 'progress', job };
      last = job;
      if (FINAL_STATES.has(job.state)) return;
      await wakeup.next(60_000, signal);
    }
  } finally {
    off();
  }
}
