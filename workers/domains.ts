// Handlers bound to catalog kinds by name. Producers never import this module.
// Each domain module gets the process's dependencies once (config, logger, engine) and returns its
// handlers plus a close() for what it opened (SMTP pools, database pools).
import type { Logger } from 'pino';
import type { Backend } from '../core/backend.ts';
import type { Engine } from '../core/engine.ts';
import type { JobName, Payload } from './catalog.ts';
import type { Config } from './config.ts';
import { noop, sleepJob } from './diagnostics/handlers.ts';
import { emailHandlers } from './email/handlers.ts';
import { opsModule } from './ops/handlers.ts';
import { reportsModule } from './reports/handlers.ts';
import type { HandlerContext } from './runtime.ts';
import { createSearchHandlers } from './search/handlers.ts';

export type Handler<N extends JobName> = (payload: Payload<N>, ctx: HandlerContext) => Promise<unknown>;
export type HandlerMap = { [N in JobName]?: Handler<N> };

export interface HandlerDeps {
  config: Config;
  logger: Logger;
  /** to enqueue follow-up jobs (e.g. a report's notification email); backend.engine */
  engine: Engine;
  /** the side stores a domain keeps its state in (the email send ledger, caught mail); the process closes it */
  backend: Backend;
}

export interface HandlerSet {
  handlers: HandlerMap;
  close(): Promise<void>;
}

export type HandlerModule = (deps: HandlerDeps) => Promise<HandlerSet>;

/** Handlers that need nothing from the process. */
export const handlers: HandlerMap = {
  'diagnostics.noop': noop,
  'diagnostics.sleep': sleepJob,
};

/** Domain modules; each adds its own line here. */
const modules: HandlerModule[] = [emailHandlers, reportsModule, opsModule, createSearchHandlers];

export async function createHandlers(deps: HandlerDeps): Promise<HandlerSet> {
  const sets = await Promise.all(modules.map((m) => m(deps)));
  return {
    handlers: Object.assign({}, handlers, ...sets.map((s) => s.handlers)) as HandlerMap,
    close: async () => {
      await Promise.all(sets.map((s) => s.close()));
    },
  };
}
