// The worker runtime: resolves WORKER_QUEUES against the catalog and wires the catalog and this
// process's handlers into the executor (core/executor.ts), which runs each job and decides its outcome;
// the engine persists that outcome.
import type { Logger } from 'pino';
import type { Consumer, Engine } from '../core/engine.ts';
import { Executor, type JobHandler, type Settler } from '../core/executor.ts';
import type { DeclaredHandlers, RuntimeHooks } from '../core/handler.ts';
import {
  catalog,
  type HandlerMap,
  isJobName,
  type JobName,
  kindRegistry,
  kindsOfQueue,
  type QueueName,
  queueNames,
  queues,
} from './catalog.ts';

export type { HandlerContext, RuntimeHooks } from '../core/handler.ts';

export interface RuntimeOptions {
  engine: Engine;
  logger: Logger;
  handlers: HandlerMap;
  /** runs kinds declared without code (HTTP-target kinds: workers/http/); absent: such jobs are dead-lettered */
  declared?: DeclaredHandlers;
  /** queue → concurrency override; `*` means every catalog queue that has a handler */
  queues: Record<string, number | undefined>;
  hooks?: RuntimeHooks;
  /** awaited between a run's decided outcome and its persistence (core/executor.ts Settler) */
  settlers?: readonly Settler[];
  /** per-queue rate limits from config, over the catalog's (e.g. the email provider's messages/s) */
  rateLimits?: Record<string, { max: number; durationMs: number } | undefined>;
  random?: () => number;
}

/** The executor over the catalog and `handlers`. */
export function catalogExecutor(
  opts: Pick<RuntimeOptions, 'handlers' | 'declared' | 'logger' | 'hooks' | 'settlers' | 'random'>,
): Executor {
  return new Executor({
    definition: (kind) => kindRegistry.get(kind),
    handler: (kind) => {
      if (isJobName(kind)) return opts.handlers[kind] as JobHandler | undefined;
      const def = kindRegistry.get(kind);
      return def ? (opts.declared?.(kind, def) as JobHandler | undefined) : undefined;
    },
    fallbackBackoff: catalog['diagnostics.noop'].defaults.backoff,
    logger: opts.logger,
    hooks: opts.hooks,
    settlers: opts.settlers,
    random: opts.random,
  });
}

/** Resolve WORKER_QUEUES to concrete queues and their concurrency. */
export function resolveQueues(
  spec: Record<string, number | undefined>,
  handlers: HandlerMap,
  declared?: DeclaredHandlers,
): Map<QueueName, number> {
  const out = new Map<QueueName, number>();
  const runsDeclared = (q: QueueName) => declared !== undefined && (queues[q] as { declaredKinds?: boolean }).declaredKinds === true;
  const served = (q: QueueName) => runsDeclared(q) || kindsOfQueue(q).some((k) => handlers[k as JobName] !== undefined);
  for (const [name, n] of Object.entries(spec)) {
    if (name === '*') {
      for (const q of queueNames) if (served(q) && !out.has(q)) out.set(q, spec[q] ?? queues[q].concurrency);
      continue;
    }
    if (!(queueNames as string[]).includes(name)) {
      throw new Error(`WORKER_QUEUES: unknown queue "${name}" (known: ${queueNames.join(', ')})`);
    }
    out.set(name as QueueName, n ?? queues[name as QueueName].concurrency);
  }
  return out;
}

/** A queue's only kind and its default attempts: how a plain job without our envelope runs (ConsumeOptions.plain). */
function plainKindOf(queue: QueueName): { kind: string; maxAttempts: number } | undefined {
  const kinds = kindsOfQueue(queue);
  const only = kinds.length === 1 ? kinds[0] : undefined;
  return only ? { kind: only, maxAttempts: catalog[only].defaults.attempts } : undefined;
}

export interface WorkerRuntime {
  consumers: Consumer[];
  /** stop fetching and wait for running jobs up to `graceMs` */
  close(graceMs: number): Promise<{ abandoned: number }>;
}

export function startWorkers(opts: RuntimeOptions): WorkerRuntime {
  const executor = catalogExecutor(opts);
  const run = executor.run.bind(executor);
  const consumers = [...resolveQueues(opts.queues, opts.handlers, opts.declared)].map(([queue, concurrency]) => {
    const def = queues[queue] as { rateLimit?: { max: number; durationMs: number } };
    const rateLimit = opts.rateLimits?.[queue] ?? def.rateLimit;
    opts.logger.info({ queue, concurrency, rateLimit }, 'consuming');
    return opts.engine.consume(queue, { concurrency, rateLimit, run, plain: plainKindOf(queue) });
  });
  return {
    consumers,
    close: async (graceMs) => {
      const results = await Promise.all(consumers.map((c) => c.close(graceMs)));
      return { abandoned: results.reduce((a, r) => a + r.abandoned, 0) };
    },
  };
}
