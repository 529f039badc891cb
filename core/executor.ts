// The executor: runs one consumed job through its handler and decides the run's outcome, once
// (River's jobExecutor, Oban's Executor). Payload check, timeout and cancel through one AbortSignal,
// error classification, backoff and "attempts exhausted → dead" all happen here; the engine receives
// the Outcome and only persists it; logs and metrics hooks read the same Outcome.
// Catalog-agnostic: the caller (workers/runtime.ts) hands in the kind lookup and the handlers.
import type { Logger } from 'pino';
import { type BackoffPolicy, backoffDelay, budgetedDelay } from './backoff.ts';
import { formatDuration } from './duration.ts';
import type { AttemptRecord, CancelSignal, ConsumedJob, FailedOutcome, Outcome } from './engine.ts';
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
 * last attempt), so what it guards is never lost silently. A settler with nothing to do for a run returns
 * without a promise (the hot path: most runs are in no flow, no group and have no receivers).
 */
export type Settler = (job: ConsumedJob, outcome: Outcome) => Promise<void> | void;

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
  async run(job: ConsumedJob, engineSignal: CancelSignal): Promise<Outcome> {
    const started = performance.now();
    let outcome: Outcome;
    try {
      this.opts.hooks?.onStart?.(job);
      const around = this.opts.hooks?.around;
      const result = await (around ? around(job, () => this.invoke(job, engineSignal)) : this.invoke(job, engineSignal));
      outcome = { status: 'completed', result: result ?? null };
    } catch (err) {
      outcome = decide(err, job, this.backoffOf(job), this.random, await this.budgetOf(job, err));
    }
    const settled = this.settle(job, outcome, 0);
    outcome = settled instanceof Promise ? await settled : settled;
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

  /**
   * The settlers over the decided outcome, from settler `from` on; the first that throws makes it a failed
   * attempt. Synchronous while the settlers are (no promise, no microtask per settler on the hot path).
   */
  private settle(job: ConsumedJob, outcome: Outcome, from: number): Outcome | Promise<Outcome> {
    const settlers = this.opts.settlers ?? [];
    for (let i = from; i < settlers.length; i++) {
      let pending: Promise<void> | void;
      try {
        pending = settlers[i]?.(job, outcome);
      } catch (err) {
        return this.settleFailed(job, err);
      }
      if (pending instanceof Promise) {
        return pending.then(
          () => this.settle(job, outcome, i + 1),
          (err: unknown) => this.settleFailed(job, err),
        );
      }
    }
    return outcome;
  }

  private async settleFailed(job: ConsumedJob, err: unknown): Promise<Outcome> {
    this.opts.logger.error({ jobId: job.id, err: (err as Error).message }, 'settling the outcome failed');
    return decide(err, job, this.backoffOf(job), this.random, await this.budgetOf(job, err));
  }

  /**
   * Payload check, handler lookup, then the handler raced against its timeout and the engine's cancel.
   * Rejects with what the run failed with. One promise per run, no Promise.race; the handler's AbortSignal
   * is made only when the handler reads `ctx.signal` (already aborted if the run has failed by then).
   */
  invoke(job: ConsumedJob, engineSignal: CancelSignal): Promise<unknown> {
    const def = this.opts.definition(job.name);
    if (!def) return Promise.reject(new PermanentError(`unknown job kind "${job.name}"`));
    const parsed = def.payload.safeParse(job.data);
    if (!parsed.success) return Promise.reject(new PermanentError(`invalid payload: ${formatIssues(parsed.error.issues, 'data')}`));
    const handler = this.opts.handler(job.name);
    if (!handler) return Promise.reject(new PermanentError(`no handler for job kind "${job.name}" in this worker`));
    const timeoutMs = job.meta.timeoutMs ?? def.defaults.timeoutMs;
    const logger = this.opts.logger;

    return new Promise<unknown>((resolve, reject) => {
      let failure: Error | undefined;
      let controller: AbortController | undefined;
      const done = () => {
        clearTimeout(timer);
        engineSignal.removeEventListener('abort', onCancel);
      };
      // timeout or cancel: the run fails now; a handler that ignores its signal goes on in the background
      const fail = (err: Error) => {
        if (failure) return;
        failure = err;
        done();
        controller?.abort(err);
        reject(err);
      };
      const onCancel = () => {
        const reason = engineSignal.reason;
        fail(new JobCancelledError(typeof reason === 'string' ? reason : 'cancelled'));
      };
      const timer = setTimeout(() => fail(new JobTimeoutError(`timed out after ${timeoutMs} ms`)), timeoutMs);
      if (engineSignal.aborted) return onCancel();
      engineSignal.addEventListener('abort', onCancel, { once: true });
      const signal = () => {
        if (!controller) {
          controller = new AbortController();
          if (failure) controller.abort(failure);
        }
        return controller.signal;
      };
      let running: Promise<unknown>;
      try {
        running = handler(parsed.data, new RunContext(job, logger, signal));
      } catch (err) {
        done();
        return reject(err);
      }
      Promise.resolve(running).then(
        (value) => {
          if (failure) return;
          done();
          resolve(value);
        },
        (err: unknown) => {
          if (failure) return;
          done();
          reject(err);
        },
      );
    });
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

/**
 * What a handler sees of its run (HandlerContext). A class, so a run costs one object: the logger child,
 * the AbortSignal and the progress function are made only when the handler reads them.
 */
class RunContext implements HandlerContext {
  readonly jobId: string;
  readonly attempt: number;
  readonly maxAttempts: number;
  readonly requestId: string | undefined;
  readonly parents: NonNullable<HandlerContext['parents']>;
  #log: Logger | undefined;

  constructor(
    private readonly job: ConsumedJob,
    private readonly logger: Logger,
    private readonly signalOf: () => AbortSignal,
  ) {
    this.jobId = job.id;
    this.attempt = job.attempt;
    this.maxAttempts = job.maxAttempts;
    this.requestId = job.meta.requestId;
    this.parents = job.meta.parents ?? {};
  }

  get signal(): AbortSignal {
    return this.signalOf();
  }

  get log(): Logger {
    const job = this.job;
    this.#log ??= this.logger.child({ jobId: job.id, kind: job.name, attempt: job.attempt, requestId: job.meta.requestId });
    return this.#log;
  }

  /** a getter, so `const { progress } = ctx` works as it did with a plain object */
  get progress(): HandlerContext['progress'] {
    const job = this.job;
    return (p) => job.updateProgress(p);
  }
}
