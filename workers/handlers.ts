// The handler registry: each domain's handler module (loaded only here, when a worker starts), given
// the process's dependencies once: config, logger, engine, and an `enqueue` over the catalog for
// follow-up jobs. Returns every handler plus one close() for what the modules opened.
import type { Logger } from 'pino';
import type { Backend } from '../core/backend.ts';
import { enqueueFor } from '../core/enqueue.ts';
import type { HandlerDeps, HandlerSet } from '../core/handler.ts';
import { type HandlerMap, kindRegistry, queueNames } from './catalog.ts';
import { type Config, domains } from './domains.ts';

/** What the process has: its config and logger, and the backend (the engine and its side stores). */
export interface ProcessDeps {
  config: Config;
  logger: Logger;
  backend: Backend;
}

/** HandlerDeps for a process (tests build a single domain's handlers with it). */
export function handlerDeps({ config, logger, backend }: ProcessDeps): HandlerDeps<Config> {
  // backend is absent only in tests that never run a handler
  const engine = backend?.engine;
  return { config, logger, backend, engine, enqueue: enqueueFor(kindRegistry.table, backend, config), queueNames };
}

/**
 * The domains whose handler modules a worker serving `spec` (WORKER_QUEUES: queue → concurrency, `*` all)
 * loads: those owning a queue it names. The others open nothing (no mail catcher, no SMTP pool, no ES client).
 */
export function domainsServing(spec: Readonly<Record<string, number | undefined>> | undefined): readonly (typeof domains)[number][] {
  if (spec === undefined || '*' in spec) return domains;
  return domains.filter((d) => Object.keys(d.queues).some((q) => q in spec));
}

/** Every handler of the domains that serve `queues` (WORKER_QUEUES; default: all). */
export async function createHandlers(
  base: ProcessDeps,
  queues?: Readonly<Record<string, number | undefined>>,
): Promise<HandlerSet<HandlerMap>> {
  const deps = handlerDeps(base);
  const results = await Promise.allSettled(
    domainsServing(queues).map(async (d) => (d.handlers ? d.handlers(deps) : { handlers: {}, close: async () => {} })),
  );
  const sets = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value as HandlerSet<object>] : []));
  const failed = results.find((r) => r.status === 'rejected');
  if (failed) {
    // one module could not start: close what the others opened, then fail the boot with its error
    await Promise.allSettled(sets.map((s) => s.close()));
    throw failed.reason;
  }
  return {
    handlers: Object.assign({}, ...sets.map((s) => s.handlers)) as HandlerMap,
    declared: sets.find((s) => s.declared)?.declared,
    close: async () => {
      await Promise.all(sets.map((s) => s.close()));
    },
  };
}
