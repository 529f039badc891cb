// Shared types and the `job()` helper for each domain's kinds (workers/<domain>/kinds.ts).
import type { z } from 'zod';
import type { BackoffPolicy } from './backoff.ts';

export interface QueueDefinition {
  /** handlers run at once per worker process, unless WORKER_QUEUES says otherwise */
  concurrency: number;
  /** at most `max` jobs per `durationMs` across all workers of this queue */
  rateLimit?: { max: number; durationMs: number };
}

export interface JobDefaults {
  /** 1 (most urgent) … 10 */
  priority: number;
  /** total runs, first included */
  attempts: number;
  backoff: BackoffPolicy;
  timeoutMs: number;
  /** overrides RETENTION_* for finished jobs of this kind */
  retention?: { completedSeconds?: number; failedSeconds?: number };
}

export interface JobDefinition<S extends z.ZodType = z.ZodType> {
  queue: string;
  description: string;
  payload: S;
  defaults: JobDefaults;
}

const baseDefaults: JobDefaults = {
  priority: 5,
  attempts: 5,
  backoff: { baseMs: 1000, capMs: 10 * 60_000, jitter: 'full' },
  timeoutMs: 60_000,
};

/**
 * What kernel services (metrics labels, the scaling signal) need to know of the catalog: its kind names
 * and queues. The layers above pass workers/catalog.ts's `catalogView` in; core never imports it.
 */
export interface CatalogView {
  kinds: readonly string[];
  queues: Readonly<Record<string, QueueDefinition>>;
}

/** What a handler of `D` receives: its payload with defaults applied. */
export type PayloadOf<D extends JobDefinition> = z.output<D['payload']>;

export function job<S extends z.ZodType, Q extends string>(def: {
  queue: Q;
  description: string;
  payload: S;
  defaults?: Partial<JobDefaults>;
}): JobDefinition<S> & { queue: Q } {
  return { ...def, defaults: { ...baseDefaults, ...def.defaults } };
}
