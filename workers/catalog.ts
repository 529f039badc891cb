// The job catalog: every job kind, its queue, payload schema and default options.
// Producers (HTTP API, SDK, scheduler), workers and the OpenAPI generator all read this one module.
import type { z } from 'zod';
import type { JobDefinition, QueueDefinition } from '../core/kinds.ts';
import { diagnosticsKinds, diagnosticsQueues } from './diagnostics/kinds.ts';
import { emailKinds, emailQueues } from './email/kinds.ts';
import { opsKinds, opsQueues } from './ops/kinds.ts';
import { reportsKinds, reportsQueues } from './reports/kinds.ts';
import { searchKinds, searchQueues } from './search/kinds.ts';

export type { JobDefaults, JobDefinition, QueueDefinition } from '../core/kinds.ts';

/** Every queue: each domain module under kinds/ adds its own. */
export const queues = {
  ...diagnosticsQueues,
  ...emailQueues,
  ...opsQueues,
  ...reportsQueues,
  ...searchQueues,
} as const satisfies Record<string, QueueDefinition>;
export type QueueName = keyof typeof queues;
export const queueNames = Object.keys(queues) as QueueName[];

export const catalog = {
  ...diagnosticsKinds,
  ...emailKinds,
  ...opsKinds,
  ...reportsKinds,
  ...searchKinds,
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

for (const [name, def] of Object.entries(catalog)) {
  if (!Object.hasOwn(queues, def.queue)) throw new Error(`catalog: job kind ${name} names unknown queue "${def.queue}"`);
}
