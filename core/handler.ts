// What a handler sees of its run (HandlerContext) and what observers hook into (RuntimeHooks).
// Kernel types: the executor (core/executor.ts) builds the context and calls the hooks.
import type { Logger } from 'pino';
import type { ConsumedJob, Outcome } from './engine.ts';

export interface HandlerContext {
  jobId: string;
  attempt: number;
  maxAttempts: number;
  requestId?: string;
  /** fires on timeout or cancel; pass it to fetch, database queries, streams */
  signal: AbortSignal;
  log: Logger;
  progress(p: number | object): Promise<void>;
}

export interface RuntimeHooks {
  onStart?(job: ConsumedJob): void;
  /** the outcome the executor decided for a run (before the engine persists it), and the run's duration */
  onOutcome?(job: ConsumedJob, outcome: Outcome, durationMs: number): void;
  /** wraps each run (tracing: the consumer span is active while the handler runs) */
  around?(job: ConsumedJob, run: () => Promise<unknown>): Promise<unknown>;
}
