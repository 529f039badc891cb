// The job catalog: every job kind, its queue, payload schema and default options, assembled from the
// domains' manifests (./domains.ts); and the one enqueue path over it (core/enqueue.ts bound to it).
// Producers (HTTP API, SDK, scheduler), workers and the OpenAPI generator all read this one module.
// It loads the domains' kinds only: no handler, route or driver code.
import type { z } from 'zod';
import type { KindsOf, QueuesOf } from '../core/domain.ts';
import type { JobMeta } from '../core/engine.ts';
import { enqueueRequestOf, type ValidJob as KindJob, type RetentionConfig, type Validation, validateJobIn } from '../core/enqueue.ts';
import type { Handler } from '../core/handler.ts';
import type { CatalogView, JobDefinition, QueueDefinition } from '../core/kinds.ts';
import { domains } from './domains.ts';

export type { JobDefaults, JobDefinition, QueueDefinition } from '../core/kinds.ts';

type Domains = typeof domains;

/** Merge one table per domain; a name two domains use is a boot error. */
function merge<T>(what: string, tables: [domain: string, table: Record<string, T>][]): Record<string, T> {
  const out: Record<string, T> = {};
  const owner = new Map<string, string>();
  for (const [domain, table] of tables) {
    for (const [name, value] of Object.entries(table)) {
      if (owner.has(name)) throw new Error(`catalog: ${what} "${name}" is declared by both ${owner.get(name)} and ${domain}`);
      owner.set(name, domain);
      out[name] = value;
    }
  }
  return out;
}

/** Every queue, in domain order. */
export const queues = merge<QueueDefinition>(
  'queue',
  domains.map((d) => [d.name, d.queues]),
) as QueuesOf<Domains>;
export type QueueName = keyof typeof queues & string;
export const queueNames = Object.keys(queues) as QueueName[];

export const catalog = merge<JobDefinition>(
  'job kind',
  domains.map((d) => [d.name, d.kinds]),
) as KindsOf<Domains>;

export type Catalog = typeof catalog;
export type JobName = keyof Catalog & string;
/** What a producer passes (defaults optional). */
export type PayloadInput<N extends JobName> = z.input<Catalog[N]['payload']>;
/** What a handler receives (defaults applied). */
export type Payload<N extends JobName> = z.output<Catalog[N]['payload']>;
export const jobNames = Object.keys(catalog) as JobName[];

/** The catalog as kernel services take it (metrics labels, the scaling signal): core/kinds.ts CatalogView. */
export const catalogView: CatalogView = { kinds: jobNames, queues };

/** Handlers by kind: what the worker runtime runs. */
export type HandlerMap = { [N in JobName]?: Handler<Payload<N>> };

export function isJobName(name: unknown): name is JobName {
  return typeof name === 'string' && Object.hasOwn(catalog, name);
}

/** The queue a kind runs on; undefined for a name the catalog does not know (scope checks: core/http/principal.ts). */
export function queueOfKind(name: string): string | undefined {
  return isJobName(name) ? catalog[name].queue : undefined;
}

export function definitionOf(name: JobName): JobDefinition {
  return catalog[name];
}

export function kindsOfQueue(queue: string): JobName[] {
  return jobNames.filter((n) => catalog[n].queue === queue);
}

// a domain's kinds run on that domain's queues
for (const d of domains) {
  for (const [name, def] of Object.entries(d.kinds as Record<string, JobDefinition>)) {
    if (!Object.hasOwn(d.queues, def.queue)) throw new Error(`catalog: job kind ${name} names "${def.queue}", not a queue of ${d.name}`);
  }
}

export type ValidJob = KindJob<JobName>;

/** Validate one `{ name, data, options }` against the catalog; `prefix` roots the error paths (`jobs[3]`). */
export function validateJob(body: unknown, prefix = ''): Validation<JobName> {
  return validateJobIn(catalog, body, prefix);
}

/** Catalog defaults + caller options → what the engine stores. `now` is a parameter for tests. */
export function toEnqueueRequest(job: ValidJob, config: RetentionConfig, meta: JobMeta = {}, now = Date.now(), jobId?: string) {
  return enqueueRequestOf(catalog[job.name], job, config, meta, now, jobId);
}
