// What a handler sees of its run (HandlerContext), what observers hook into (RuntimeHooks), and what a
// domain's handler module is given and returns (HandlerDeps, HandlerSet). Kernel types: the executor
// (core/executor.ts) builds the context and calls the hooks; domains type their handlers with these and
// get everything else (config, engine, follow-up enqueue) injected.
import type { Logger } from 'pino';
import type { z } from 'zod';
import type { Backend } from './backend.ts';
import type { KernelConfig } from './config/index.ts';
import type { ConsumedJob, Engine, EnqueueResult, Outcome } from './engine.ts';
import type { ParentOutcome } from './flows/parent-outcome.ts';
import type { JobDefinition, KindDefinition } from './kinds.ts';

export interface HandlerContext {
  jobId: string;
  attempt: number;
  maxAttempts: number;
  requestId?: string;
  /** fires on timeout or cancel; pass it to fetch, database queries, streams */
  signal: AbortSignal;
  log: Logger;
  progress(p: number | object): Promise<void>;
  /**
   * In a flow (docs/flows.md): each parent's outcome by its key (`{ state: 'completed', result }`, or with
   * `onParentFailure: continue` `{ state: 'dead' | 'cancelled', error }`); `{}` for a job outside a flow.
   */
  parents?: Readonly<Record<string, ParentOutcome>>;
}

export interface RuntimeHooks {
  onStart?(job: ConsumedJob): void;
  /** the outcome the executor decided for a run (before the engine persists it), and the run's duration */
  onOutcome?(job: ConsumedJob, outcome: Outcome, durationMs: number): void;
  /** wraps each run (tracing: the consumer span is active while the handler runs) */
  around?(job: ConsumedJob, run: () => Promise<unknown>): Promise<unknown>;
}

export type Handler<P> = (payload: P, ctx: HandlerContext) => Promise<unknown>;

/** Handlers for some of `K`'s kinds, each typed by its kind's payload (defaults applied). */
export type HandlersFor<K extends Record<string, JobDefinition>> = { [N in keyof K]?: Handler<z.output<K[N]['payload']>> };

/** A follow-up job as a handler asks for it; validated against the catalog like any producer's. */
export interface FollowUpJob {
  name: string;
  data: unknown;
  options?: { idempotencyKey?: string; priority?: number; delay?: number; runAt?: string; attempts?: number; timeout?: number };
}

/**
 * Validates `job` against the catalog, applies its defaults and enqueues it. Throws InvalidJobError
 * (core/enqueue.ts, a PermanentError) naming each invalid field. `jobId` fixes the new job's id.
 */
export type Enqueue = (job: FollowUpJob, meta?: { requestId?: string; jobId?: string }) => Promise<EnqueueResult>;

/** What the worker process gives each domain's handler module, once. `C`: the config the domain reads. */
export interface HandlerDeps<C extends KernelConfig = KernelConfig> {
  config: C;
  logger: Logger;
  /** backend.engine */
  engine: Engine;
  /** the side stores a domain keeps its state in (the email send ledger, caught mail); the process closes it */
  backend: Backend;
  /** for follow-up jobs (a report's notification email, the dead-letter digest) */
  enqueue: Enqueue;
  /** every queue of the catalog */
  queueNames: readonly string[];
}

/** The handler for a kind declared without code (an HTTP-target kind), or undefined when this module runs none such. */
export type DeclaredHandlers = (name: string, def: KindDefinition) => Handler<unknown> | undefined;

export interface HandlerSet<H = Record<string, Handler<never> | undefined>> {
  handlers: H;
  /** runs the kinds declared without code (workers/http/) */
  declared?: DeclaredHandlers;
  /** closes what the module opened (SMTP pools, database pools) */
  close(): Promise<void>;
}

export type HandlerFactory<H, C extends KernelConfig = KernelConfig> = (deps: HandlerDeps<C>) => Promise<HandlerSet<H>>;
