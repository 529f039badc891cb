// The executor: runs one consumed job through its handler and decides the run's outcome, once
// (River's jobExecutor, Oban's Executor). Payload check, timeout and cancel through one AbortSignal,
// error classification, backoff and "attempts exhausted → dead" all happen here; the engine receives
// the Outcome and only persists it; logs and metrics hooks read the same Outcome.
// Catalog-agnostic: the caller (workers/runtime.ts) hands in the kind lookup and the handlers.
import type { Logger } from 'pino';
import { type BackoffPolicy, backoffDelay, budgetedDelay } from './backoff.ts';
import { formatDuration } from './duration.ts';
import type { AttemptRecord, ConsumedJob, FailedOutcome, Outcome } from './engine.ts';
import { JobCancelledError, JobTimeoutError, PermanentError, RetryLaterError } from './errors/index.ts';
import type { HandlerContext, RuntimeHooks } from './handler.ts';
import type { JobDefinition } from './kinds.ts';
import { formatIssues } from './validation.ts';

export type JobHandler = (payload: unknown, ctx: HandlerContext) => Promise<unknown>;

/**
 * Runs after a run's outcome is decided and before the engine persists it: workflows release children,
 * webhooks record the event, group limits free a slot. Settlers run in order; each must be idempotent,
 * because a crash after a settler and before the engine persists the outcome runs the job again
 * (at-least-once). A settler that throws turns the outcome into a failed attempt (retry, or dead on the
 * last attempt), so what it guards is never lost silently.
 */
export type Settler = (job: ConsumedJob, outcome: Outcome) => Promise<void>;

export interface ExecutorOptions {
  /** the definition of a job kind; undefined for a kind the catalog does not know */
  definition(kind: string): Pick<JobDefinition, 'payload' | 'defaults'> | undefined;
  /** the clock the retry budget is measured with (tests pin it) */
  now?: () => number;
  /** this worker's handler for a kind; undefined when it serves no such kind */
  handler(kind: string): JobHandler | undefined;
  /** backoff for a failure of a job whose kind is unknown */
  fallbackBackoff: BackoffPolicy;
  logger: Logger;
  hooks?: RuntimeHooks;
  /** awaited, in order, between the decided outcome and its persistence (see Settler) */
  settlers?: readonly Settler[];
  /** jitter source (tests pin it) */
  random?: () => number;
}

/** This run's entry in the job's attempt history. */
export function attemptRecord(attempt: number, error: Error, at = new Date()): AttemptRecord {
  return { attempt, at: at.toISOString(), error: `${error.name}: ${error.message}` };
}

/** A failed job's time budget (retryFor): its length and how much of it has passed since the first failure. */
export interface Budget {
  retryForMs: number;
  elapsedMs: number;
}

/**
 * The decision table for a failed run. Pure but for `random` (jitter):
 *   JobCancelledError → cancelled · PermanentError → dead · last attempt → dead ("failed n of m attempts")
 *   with a time budget: spent → dead ("retry budget … spent"); else retry after budgetedDelay (core/backoff.ts)
 *   RetryLaterError → retry after its hint · anything else → retry after the kind's backoff.
 */
export function decide(
  error: unknown,
  job: ConsumedJob,
  backoff: BackoffPolicy,
  random: () => number = Math.random,
  budget?: Budget,
): FailedOutcome {
  const err = error instanceof Error ? error : new Error(String(error));
  const attempt = attemptRecord(job.attempt, err);
  if (err instanceof JobCancelledError) return { status: 'cancelled', error: err, attempt };
  if (err instanceof PermanentError) return { status: 'dead', reason: `permanent error: ${err.message}`, error: err, attempt };
  if (job.attempt >= job.maxAttempts) {
    return { status: 'dead', reason: `failed ${job.attempt} of ${job.maxAttempts} attempts`, error: err, attempt };
  }
  const hintMs = err instanceof RetryLaterError ? Math.max(0, err.delayMs) : undefined;
  if (budget) {
    const retriesLeft = job.maxAttempts - job.attempt;
    const delayMs = budgetedDelay(backoff, job.attempt, { ...budget, retriesLeft }, random, hintMs);
    if (delayMs !== undefined) return { status: 'retry', delayMs, error: err, attempt };
    const reason = `retry budget of ${formatDuration(budget.retryForMs)} spent: failed ${job.attempt} attempts over ${formatDuration(budget.elapsedMs)}`;
    return { status: 'dead', reason, error: err, attempt };
  }
  return { status: 'retry', delayMs: hintMs ?? backoffDelay(backoff, job.attempt, random), error: err, attempt };
}

export class Executor {
  private readonly random: () => number;

  constructor(private readonly opts: ExecutorOptions) {
    this.random = opts.random ?? Math.random;
  }

  /** Run `job` and decide its outcome. Never rejects. `engineSignal` fires when the engine cancels the run. */
  async run(job: ConsumedJob, engineSignal: AbortSignal): Promise<Outcome> {
    const started = performance.now();
    let outcome: Outcome;
    try {
      this.opts.hooks?.onStart?.(job);
      const invoke = () => this.invoke(job, engineSignal);
      const result = await (this.opts.hooks?.around ? this.opts.hooks.around(job, invoke) : invoke());
      outcome = { status: 'completed', result: result ?? null };
    } catch (err) {
      outcome = decide(err, job, this.backoffOf(job), this.random, await this.budgetOf(job, err));
    }
    outcome = await this.settle(job, outcome);
    this.report(job, outcome, performance.now() - started);
    return outcome;
  }

  private backoffOf(job: ConsumedJob): BackoffPolicy {
    return this.opts.definition(job.name)?.defaults.backoff ?? this.opts.fallbackBackoff;
  }

  /**
   * The job's time budget when it has one and the failure may retry: the first failed attempt's time
   * comes from the engine's attempt history (read only then). Unknown history counts as no time passed.
   */
  private async budgetOf(job: ConsumedJob, err: unknown): Promise<Budget | undefined> {
    const retryForMs = job.meta.retryForMs ?? this.opts.definition(job.name)?.defaults.retryForMs;
    if (!retryForMs || job.attempt >= job.maxAttempts) return undefined;
    if (err instanceof PermanentError || err instanceof JobCancelledError) return undefined;
    if (job.attempt <= 1 || !job.firstFailedAt) return { retryForMs, elapsedMs: 0 };
    const at = await job.firstFailedAt().catch(() => undefined);
    const first = at ? Date.parse(at) : Number.NaN;
    const now = this.opts.now?.() ?? Date.now();
    return { retryForMs, elapsedMs: Number.isFinite(first) ? Math.max(0, now - first) : 0 };
  }

  /** The settlers over the decided outcome; the first that throws makes it a failed attempt. */
  private async settle(job: ConsumedJob, outcome: Outcome): Promise<Outcome> {
    for (const settler of this.opts.settlers ?? []) {
      try {
        await settler(job, outcome);
      } catch (err) {
        this.opts.logger.error({ jobId: job.id, err: (err as Error).message }, 'settling the outcome failed');
        return decide(err, job, this.backoffOf(job), this.random, await this.budgetOf(job, err));
      }
    }
    return outcome;
  }

  /** Payload check, handler lookup, then the handler raced against its signal. Throws what the run failed with. */
  async invoke(job: ConsumedJob, engineSignal: AbortSignal): Promise<unknown> {
    const def = this.opts.definition(job.name);
    if (!def) throw new PermanentError(`unknown job kind "${job.name}"`);
    const parsed = def.payload.safeParse(job.data);
    if (!parsed.success) throw new PermanentError(`invalid payload: ${formatIssues(parsed.error.issues, 'data')}`);
    const handler = this.opts.handler(job.name);
    if (!handler) throw new PermanentError(`no handler for job kind "${job.name}" in this worker`);

    const timeoutMs = job.meta.timeoutMs ?? def.defaults.timeoutMs;
    // One controller per run: fired by the timeout or by the engine's cancel signal, its reason is the error.
    // (A plain timer and listener: AbortSignal.any/timeout cost more per job on the hot path.)
    const controller = new AbortController();
    const signal = controller.signal;
    const timer = setTimeout(() => controller.abort(new JobTimeoutError(`timed out after ${timeoutMs} ms`)), timeoutMs);
    const onCancel = () => {
      const reason = engineSignal.reason;
      controller.abort(new JobCancelledError(typeof reason === 'string' ? reason : 'cancelled'));
    };
    if (engineSignal.aborted) onCancel();
    else engineSignal.addEventListener('abort', onCancel, { once: true });
    // A handler that ignores its signal still has its job failed on time; its work goes on in the background.
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(signal.reason);
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
    });
    aborted.catch(() => {}); // observed through the race below; never an unhandled rejection
    try {
      if (signal.aborted) throw signal.reason;
      return await Promise.race([handler(parsed.data, this.context(job, signal)), aborted]);
    } finally {
      clearTimeout(timer);
      engineSignal.removeEventListener('abort', onCancel);
      if (onAbort) signal.removeEventListener('abort', onAbort);
    }
  }

  private context(job: ConsumedJob, signal: AbortSignal): HandlerContext {
    const logger = this.opts.logger;
    let log: Logger | undefined;
    return {
      jobId: job.id,
      attempt: job.attempt,
      maxAttempts: job.maxAttempts,
      requestId: job.meta.requestId,
      signal,
      get log() {
        log ??= logger.child({ jobId: job.id, kind: job.name, attempt: job.attempt, requestId: job.meta.requestId });
        return log;
      },
      progress: (p) => job.updateProgress(p),
      parents: job.meta.parents ?? {},
    };
  }

  /** The hooks and the log line read the decided outcome; a throwing hook cannot change it. */
  private report(job: ConsumedJob, outcome: Outcome, durationMs: number) {
    try {
      this.opts.hooks?.onOutcome?.(job, outcome, durationMs);
    } catch (err) {
      this.opts.logger.error({ jobId: job.id, err: (err as Error).message }, 'runtime hook failed');
    }
    const logger = this.opts.logger;
    if (outcome.status === 'completed') {
      if (logger.isLevelEnabled('info')) {
        logger.info(
          { jobId: job.id, kind: job.name, attempt: job.attempt, requestId: job.meta.requestId, durationMs: Math.round(durationMs) },
          'job completed',
        );
      }
      return;
    }
    logger[outcome.status === 'retry' ? 'warn' : 'error'](
      {
        jobId: job.id,
        kind: job.name,
        attempt: job.attempt,
        maxAttempts: job.maxAttempts,
        requestId: job.meta.requestId,
        action: outcome.status,
        delayMs: outcome.status === 'retry' ? outcome.delayMs : undefined,
        reason: outcome.status === 'dead' ? outcome.reason : undefined,
        err: { name: outcome.error.name, message: outcome.error.message },
      },
      'job failed',
    );
  }
}
