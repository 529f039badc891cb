// The one wrapper around every handler: payload check, timeout and cancel through an AbortSignal,
// structured logs, metrics hooks, and error classification. Engine-agnostic: the engine carries out
// the decision (retry after a delay, dead-letter, cancelled).
import type { Logger } from 'pino';
import { backoffDelay } from '../core/backoff.ts';
import type { ConsumedJob, Consumer, Engine, FailureDecision } from '../core/engine.ts';
import { JobCancelledError, JobTimeoutError, PermanentError, RetryLaterError } from '../core/errors/index.ts';
import { formatIssues } from '../core/validation.ts';
import { catalog, isJobName, type JobName, kindsOfQueue, type QueueName, queueNames, queues } from './catalog.ts';
import type { HandlerMap } from './domains.ts';

export interface RuntimeHooks {
  onStart?(job: ConsumedJob): void;
  onComplete?(job: ConsumedJob, durationMs: number): void;
  onFailure?(job: ConsumedJob, decision: FailureDecision, durationMs: number): void;
  /** wraps each run (tracing: the consumer span is active while the handler runs) */
  around?(job: ConsumedJob, run: () => Promise<unknown>): Promise<unknown>;
}

export interface RuntimeOptions {
  engine: Engine;
  logger: Logger;
  handlers: HandlerMap;
  /** queue → concurrency override; `*` means every catalog queue that has a handler */
  queues: Record<string, number | undefined>;
  hooks?: RuntimeHooks;
  /** per-queue rate limits from config, over the catalog's (e.g. the email provider's messages/s) */
  rateLimits?: Record<string, { max: number; durationMs: number } | undefined>;
  random?: () => number;
}

/** Run one job through its handler. Throws the handler's error (or a timeout/cancel error). */
export async function runJob(job: ConsumedJob, engineSignal: AbortSignal, opts: RuntimeOptions): Promise<unknown> {
  if (!isJobName(job.name)) throw new PermanentError(`unknown job kind "${job.name}"`);
  const def = catalog[job.name];
  const parsed = def.payload.safeParse(job.data);
  if (!parsed.success) throw new PermanentError(`invalid payload: ${formatIssues(parsed.error.issues, 'data')}`);
  const handler = opts.handlers[job.name] as ((p: unknown, ctx: HandlerContext) => Promise<unknown>) | undefined;
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
  let log: Logger | undefined;
  const ctx: HandlerContext = {
    jobId: job.id,
    attempt: job.attempt,
    maxAttempts: job.maxAttempts,
    requestId: job.meta.requestId,
    signal,
    get log() {
      log ??= opts.logger.child({ jobId: job.id, kind: job.name, attempt: job.attempt, requestId: job.meta.requestId });
      return log;
    },
    progress: (p) => job.updateProgress(p),
  };
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
    return await Promise.race([handler(parsed.data, ctx), aborted]);
  } finally {
    clearTimeout(timer);
    engineSignal.removeEventListener('abort', onCancel);
    if (onAbort) signal.removeEventListener('abort', onAbort);
  }
}

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

/** Map a thrown error to what the engine should do. Pure but for `random` (jitter). */
export function classify(error: unknown, job: ConsumedJob, random: () => number = Math.random): FailureDecision {
  const err = error instanceof Error ? error : new Error(String(error));
  if (err instanceof JobCancelledError) return { action: 'cancelled', error: err };
  if (err instanceof PermanentError) return { action: 'dead', reason: `permanent error: ${err.message}`, error: err };
  if (err instanceof RetryLaterError) return { action: 'retry', delayMs: Math.max(0, err.delayMs), error: err };
  const policy = isJobName(job.name) ? catalog[job.name].defaults.backoff : catalog['diagnostics.noop'].defaults.backoff;
  return { action: 'retry', delayMs: backoffDelay(policy, job.attempt, random), error: err };
}

/** Resolve WORKER_QUEUES to concrete queues and their concurrency. */
export function resolveQueues(spec: Record<string, number | undefined>, handlers: HandlerMap): Map<QueueName, number> {
  const out = new Map<QueueName, number>();
  const served = (q: QueueName) => kindsOfQueue(q).some((k) => handlers[k as JobName] !== undefined);
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

export interface WorkerRuntime {
  consumers: Consumer[];
  /** stop fetching and wait for running jobs up to `graceMs` */
  close(graceMs: number): Promise<{ abandoned: number }>;
}

export function startWorkers(opts: RuntimeOptions): WorkerRuntime {
  const random = opts.random ?? Math.random;
  /** how long a failed run took, from `process` to `classify` */
  const failedAfterMs = new WeakMap<ConsumedJob, number>();
  const consumers = [...resolveQueues(opts.queues, opts.handlers)].map(([queue, concurrency]) => {
    const def = queues[queue] as { rateLimit?: { max: number; durationMs: number } };
    const rateLimit = opts.rateLimits?.[queue] ?? def.rateLimit;
    opts.logger.info({ queue, concurrency, rateLimit }, 'consuming');
    return opts.engine.consume(queue, {
      concurrency,
      rateLimit,
      process: async (job, signal) => {
        const started = performance.now();
        opts.hooks?.onStart?.(job);
        const run = () => runJob(job, signal, opts);
        let result: unknown;
        try {
          result = await (opts.hooks?.around ? opts.hooks.around(job, run) : run());
        } catch (err) {
          failedAfterMs.set(job, performance.now() - started);
          throw err;
        }
        const durationMs = performance.now() - started;
        opts.hooks?.onComplete?.(job, durationMs);
        if (opts.logger.isLevelEnabled('info')) {
          opts.logger.info(
            { jobId: job.id, kind: job.name, attempt: job.attempt, requestId: job.meta.requestId, durationMs: Math.round(durationMs) },
            'job completed',
          );
        }
        return result ?? null;
      },
      classify: (error, job) => {
        const decision = classify(error, job, random);
        opts.hooks?.onFailure?.(job, decision, failedAfterMs.get(job) ?? 0);
        const level = decision.action === 'retry' && job.attempt < job.maxAttempts ? 'warn' : 'error';
        opts.logger[level](
          {
            jobId: job.id,
            kind: job.name,
            attempt: job.attempt,
            maxAttempts: job.maxAttempts,
            requestId: job.meta.requestId,
            action: decision.action,
            delayMs: decision.action === 'retry' ? decision.delayMs : undefined,
            err: { name: decision.error.name, message: decision.error.message },
          },
          'job failed',
        );
        return decision;
      },
    });
  });
  return {
    consumers,
    close: async (graceMs) => {
      const results = await Promise.all(consumers.map((c) => c.close(graceMs)));
      return { abandoned: results.reduce((a, r) => a + r.abandoned, 0) };
    },
  };
}
