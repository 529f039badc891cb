// What both engines do the same way: the envelope our metadata travels in, dead-letter queue names and
// records, cancels that arrive before their run, and the close with a deadline.
import type { AttemptRecord, CancelSignal, DeadLetter, JobEvent, JobMeta, JobView } from '../engine.ts';
import { PARKED_AFTER_MS } from '../groups/types.ts';

// ── envelope ──────────────────────────────────────────────────────────────────────────────────

/** Our reserved key inside job data; plain BullMQ producers simply leave it out. */
export const META_KEY = '$conveyor';

/** The stored job data: the payload with our metadata beside it under META_KEY. */
export function joinEnvelope<M extends object>(payload: unknown, meta: M): Record<string, unknown> {
  return { ...(payload as Record<string, unknown>), [META_KEY]: meta };
}

/** Payload and metadata of stored job data; `fallback` when the data carries none (a foreign producer). */
export function splitEnvelope<M>(data: unknown, fallback: () => M): { payload: unknown; meta: M } {
  if (data && typeof data === 'object' && !Array.isArray(data) && META_KEY in data) {
    const { [META_KEY]: meta, ...payload } = data as Record<string, unknown>;
    return { payload, meta: (meta as M | undefined) ?? fallback() };
  }
  return { payload: data, meta: fallback() };
}

// ── dead letters ──────────────────────────────────────────────────────────────────────────────

/** The dead-letter queue beside `queue`. */
export const dlqName = (queue: string) => `${queue}-dlq`;

export const errorJson = (e: Error) => ({ name: e.name, message: e.message, stack: e.stack });

/** The dead-letter record of a job that died now. */
export function deadLetterOf(
  job: { id: string; name: string; queue: string; payload: unknown },
  reason: string,
  error: Error,
  attempts: AttemptRecord[],
): DeadLetter {
  return {
    id: job.id,
    name: job.name,
    queue: job.queue,
    data: job.payload,
    reason,
    error: errorJson(error),
    attempts,
    deadAt: new Date().toISOString(),
  };
}

// ── cancels ───────────────────────────────────────────────────────────────────────────────────

/**
 * One run's cancel, as the engine's consumer holds it while the job runs here: `cancel()` when a cancel
 * request reaches this process. A CancelSignal with a single listener (the executor's), so a run costs one
 * plain object instead of an AbortController and its EventTarget (BullMQ makes one per job for a processor
 * that takes a signal; the bench profile showed it on the hot path).
 */
export class RunCancel implements CancelSignal {
  aborted = false;
  reason: unknown;
  #listener: (() => void) | undefined;

  addEventListener(_type: 'abort', listener: () => void) {
    if (this.#listener && this.#listener !== listener) throw new Error('RunCancel takes one listener');
    this.#listener = listener;
  }

  removeEventListener(_type: 'abort', listener: () => void) {
    if (this.#listener === listener) this.#listener = undefined;
  }

  /** Fire once; a later call does nothing. The listener runs now and is dropped (like `{ once: true }`). */
  cancel(reason: string) {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    const listener = this.#listener;
    this.#listener = undefined;
    listener?.();
  }
}

/** Cancels that reached this process before the run they name started here: id → expiry. */
export class PendingCancels {
  private readonly byId = new Map<string, number>();

  constructor(private readonly ttlMs = 60_000) {}

  add(id: string) {
    this.byId.set(id, Date.now() + this.ttlMs);
  }

  /** true (once) when a cancel for `id` is pending; drops expired ones on the way. */
  take(id: string): boolean {
    if (this.byId.size === 0) return false;
    const now = Date.now();
    for (const [k, exp] of this.byId) if (exp < now) this.byId.delete(k);
    return this.byId.delete(id);
  }
}

// ── close ─────────────────────────────────────────────────────────────────────────────────────

/**
 * Wait for `drained` up to `graceMs`. On time: nothing abandoned; late: `running()` runs are left
 * behind (their engine's stall recovery re-runs them).
 */
export async function closeWithin(graceMs: number, drained: Promise<unknown>, running: () => number): Promise<{ abandoned: number }> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), graceMs);
  });
  const outcome = await Promise.race([drained.then(() => 'drained' as const), timedOut]);
  clearTimeout(timer);
  return { abandoned: outcome === 'timeout' ? running() : 0 };
}

/** Priority aging sweeps (both engines): one per half aging period, at most every 5 s, at least every 50 ms. */
export const agingSweepIntervalMs = (agingMs: number) => Math.max(50, Math.min(5_000, Math.floor(agingMs / 2)));

// ── job events ────────────────────────────────────────────────────────────────────────────────

/** The watchers of this process, by job key (BullMQ: the job id; pg-boss: the row uuid). */
export class JobWatchers {
  private readonly byKey = new Map<string, Set<(e: JobEvent) => void>>();

  get size() {
    return this.byKey.size;
  }

  add(key: string, fn: (e: JobEvent) => void): () => void {
    let set = this.byKey.get(key);
    if (!set) {
      set = new Set();
      this.byKey.set(key, set);
    }
    set.add(fn);
    return () => {
      const s = this.byKey.get(key);
      s?.delete(fn);
      if (s?.size === 0) this.byKey.delete(key);
    };
  }

  emit(key: string, e: JobEvent) {
    for (const fn of this.byKey.get(key) ?? []) fn(e);
  }

  /** Events may have been missed (a connection came back): every watcher re-reads. */
  emitAll(e: JobEvent) {
    for (const key of [...this.byKey.keys()]) this.emit(key, e);
  }
}

/**
 * A grouped job as it was asked for, not as it is stored while its group holds it back (parked: delayed
 * about five years, docs/groups.md): `waiting`, or `delayed` until its own run time, with that `runAt`. Once
 * released, a job on BullMQ still carries the park time as its kept run time: that reads as its own, too.
 */
export function unparked(view: JobView, meta: Pick<JobMeta, 'group' | 'groupRunAt'>, now = Date.now()): JobView {
  if (meta.group === undefined || view.runAt === null) return view;
  if (Date.parse(view.runAt) - Date.parse(view.createdAt) < PARKED_AFTER_MS) return view;
  const own = typeof meta.groupRunAt === 'number' ? meta.groupRunAt : undefined;
  const state = view.state === 'delayed' ? (own !== undefined && own > now ? 'delayed' : 'waiting') : view.state;
  return { ...view, state, runAt: own === undefined ? null : new Date(own).toISOString() };
}
