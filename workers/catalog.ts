// The job catalog: every job kind, its queue, payload schema and default options, assembled from the
// domains' manifests (./domains.ts); and the one enqueue path over it (core/enqueue.ts bound to it).
// Producers (HTTP API, SDK, scheduler), workers and the OpenAPI generator all read this one module.
// It loads the domains' kinds only: no handler, route or driver code.
import type { z } from 'zod';
import type { KindsOf, QueuesOf } from '../core/domain.ts';
import type { JobMeta } from '../core/engine.ts';
import { enqueueRequestOf, type ValidJob as KindJob, type RetentionConfig, type Validation, validateJobIn } from '../core/enqueue.ts';
import type { Handler } from '../core/handler.ts';
import { type CatalogView, type JobDefinition, type KindDefinition, KindRegistry, type QueueDefinition } from '../core/kinds.ts';
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

/**
 * Every kind this process knows: the typed catalog above plus the kinds declared without code (KINDS_FILE,
 * PUT /v1/kinds; workers/declared-kinds.ts keeps them current). Lookups by a name that came from outside
 * (a request, a consumed job) go through it; `JobName` and `catalog` stay the typed built-ins.
 */
export const kindRegistry = new KindRegistry(catalog);

/** The catalog as kernel services take it (metrics labels, the scaling signal): core/kinds.ts CatalogView. */
export const catalogView: CatalogView = {
  get kinds() {
    return kindRegistry.names;
  },
  queues,
};

/** Handlers by kind: what the worker runtime runs. */
export type HandlerMap = { [N in JobName]?: Handler<Payload<N>> };

export function isJobName(name: unknown): name is JobName {
  return typeof name === 'string' && Object.hasOwn(catalog, name);
}

/** The queue a kind runs on; undefined for a name no one declared (scope checks: core/http/principal.ts). */
export function queueOfKind(name: string): string | undefined {
  return kindRegistry.get(name)?.queue;
}

/** A kind's definition, built-in or declared; undefined for an unknown name. */
export function kindDefinition(name: string): KindDefinition | undefined {
  return kindRegistry.get(name);
}

export function definitionOf(name: JobName): JobDefinition {
  return catalog[name];
}

/** The built-in kinds of a queue (declared kinds: kindRegistry). */
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

/**
 * Validate one `{ name, data, options }` against every known kind; `prefix` roots the error paths (`jobs[3]`).
 * The name is typed as a built-in's; at run time it may be a declared kind's.
 */
export function validateJob(body: unknown, prefix = ''): Validation<JobName> {
  return validateJobIn(kindRegistry.table as Catalog, body, prefix);
}

/** A payload checked against its kind's schema (a flow job's data completed at release, core/flows/data-from.ts). */
export function validatePayload(name: string, data: unknown): { ok: true; data: unknown } | { ok: false; message: string } {
  const v = validateJob({ name, data });
  return v.ok ? { ok: true, data: v.job.data } : { ok: false, message: v.details.map((d) => `${d.path}: ${d.message}`).join('; ') };
}

/** The kind's defaults + caller options → what the engine stores. `now` is a parameter for tests. */
export function toEnqueueRequest(job: ValidJob, config: RetentionConfig, meta: JobMeta = {}, now = Date.now(), jobId?: string) {
  const def = kindRegistry.get(job.name);
  if (!def) throw new Error(`unknown job kind "${job.name}"`);
  return enqueueRequestOf(def, job, config, meta, now, jobId);
}
