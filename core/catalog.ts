// The job catalog: every job kind, its queue, payload schema and default options.
// Producers (HTTP API, SDK, scheduler), workers and the OpenAPI generator all read this one module.
import { z } from 'zod';
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
  queue: QueueName;
  description: string;
  payload: S;
  defaults: JobDefaults;
}

export const queues = {
  default: { concurrency: 20 },
} as const satisfies Record<string, QueueDefinition>;
export type QueueName = keyof typeof queues;
export const queueNames = Object.keys(queues) as QueueName[];

const baseDefaults: JobDefaults = {
  priority: 5,
  attempts: 5,
  backoff: { baseMs: 1000, capMs: 10 * 60_000, jitter: 'full' },
  timeoutMs: 60_000,
};

function job<S extends z.ZodType>(def: {
  queue: QueueName;
  description: string;
  payload: S;
  defaults?: Partial<JobDefaults>;
}): JobDefinition<S> {
  return { ...def, defaults: { ...baseDefaults, ...def.defaults } };
}

export const catalog = {
  'diagnostics.noop': job({
    queue: 'default',
    description: 'Does nothing and completes. Used by smoke tests and the benchmark.',
    payload: z.strictObject({ note: z.string().max(200).optional() }),
  }),
  'diagnostics.sleep': job({
    queue: 'default',
    description:
      'Waits `ms` (honouring cancel and timeout), then completes, or fails as told. Used to check retries, timeouts, cancel and shutdown.',
    payload: z.strictObject({
      ms: z.int().min(0).max(600_000),
      /** fail the first `failAttempts` runs with a transient error, or every run with a permanent one */
      fail: z.enum(['never', 'transient', 'permanent']).default('never'),
      failAttempts: z.int().min(0).max(100).default(0),
      /** opaque label echoed in the result, for tests that track which job ran */
      tag: z.string().max(200).optional(),
    }),
    defaults: { attempts: 3, backoff: { baseMs: 200, capMs: 5_000, jitter: 'full' } },
  }),
} as const satisfies Record<string, JobDefinition>;

export type Catalog = typeof catalog;
export type JobName = keyof Catalog;
/** What a producer passes (defaults optional). */
export type PayloadInput<N extends JobName> = z.input<Catalog[N]['payload']>;
/** What a handler receives (defaults applied). */
export type Payload<N extends JobName> = z.output<Catalog[N]['payload']>;
export const jobNames = Object.keys(catalog) as JobName[];

export function isJobName(name: unknown): name is JobName {
  return typeof name === 'string' && Object.hasOwn(catalog, name);
}

export function definitionOf(name: JobName): JobDefinition {
  return catalog[name];
}

export function kindsOfQueue(queue: string): JobName[] {
  return jobNames.filter((n) => catalog[n].queue === queue);
}
