// A BullMQ Worker per consumed queue. Each run goes through the executor (`opts.run`); this file only
// persists the outcome it decided, the BullMQ way:
//   completed → the processor returns the result
//   retry     → the processor throws the handler's error; BullMQ counts the attempt, keeps failedReason
//               and stack, and asks our backoff strategy for the delay: the one the executor decided,
//               handed over in `delays` (job id → ms), so BullMQ's own retry path stays in charge
//   dead      → dead letter written, then UnrecoverableError (no retry left in BullMQ's eyes either)
//   cancelled → UnrecoverableError with CANCELLED_PREFIX (read back as state `cancelled`)
import { type Job, type JobsOptions, type Queue, UnrecoverableError, Worker, type WorkerOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { AttemptRecord, ConsumedJob, ConsumeOptions, Consumer, DeadLetter, FailedOutcome } from '../../engine.ts';
import { OutputWriter } from '../outputs.ts';
import { closeWithin, deadLetterOf, dlqName, RunCancel } from '../shared.ts';
import { startAgingSweep } from './aging.ts';
import type { CancelRelay } from './cancels.ts';
import { CANCELLED_PREFIX, dlqId, splitData } from './jobs.ts';
import { createRedis, type RedisTarget } from './redis.ts';

export interface ConsumerDeps {
  target: RedisTarget;
  /** the BullMQ prefix of a queue (engine.queuePrefix) */
  prefixOf(queue: string): string;
  worker: { lockDurationMs: number; stalledIntervalMs: number; maxStalledCount: number; priorityAgingMs?: number };
  log: Logger;
  queue(name: string): Queue;
  cancels: CancelRelay;
  /** the engine's command connection (never a blocking one) */
  commands: Redis;
}

/** What the dead-letter queue stores: the letter, plus what a replay needs to re-add the job as it was. */
export type StoredLetter = DeadLetter & { opts: JobsOptions; rawData: unknown };

/** The attempt history BullMQ kept in the job's log (one `attempt {…}` line per failed run), plus `extra`. */
async function attemptsOf(queue: Queue, job: Job, extra: AttemptRecord[]): Promise<AttemptRecord[]> {
  const logs = await queue.getJobLogs(String(job.id), 0, 200);
  const attempts = logs.logs.filter((l) => l.startsWith('attempt {')).map((l) => JSON.parse(l.slice('attempt '.length)) as AttemptRecord);
  for (const r of extra) if (!attempts.some((a) => a.attempt === r.attempt)) attempts.push(r);
  return attempts;
}

/** Move `job` to its queue's dead-letter queue, under its own id. */
export async function deadLetter(deps: ConsumerDeps, job: Job, reason: string, error: Error, extra: AttemptRecord[]) {
  const attempts = await attemptsOf(deps.queue(job.queueName), job, extra);
  const { payload } = splitData(job.data);
  const letter: StoredLetter = {
    ...deadLetterOf({ id: String(job.id), name: job.name, queue: job.queueName, payload }, reason, error, attempts),
    opts: job.opts,
    rawData: job.data,
  };
  await deps.queue(dlqName(job.queueName)).add(job.name, letter, { jobId: dlqId(String(job.id)) });
  deps.log.warn({ jobId: job.id, kind: job.name, queue: job.queueName, reason }, 'job dead-lettered');
}

function consumedOf(job: Job, queue: string, deps: ConsumerDeps, outputs: OutputWriter): ConsumedJob {
  const { payload, meta } = splitData(job.data);
  return {
    id: String(job.id),
    name: job.name,
    queue,
    data: payload,
    attempt: job.attemptsMade + 1,
    maxAttempts: Math.max(1, job.opts.attempts ?? 1),
    meta,
    // the latest attempt-1 record: a job run again with fresh attempts starts a new series
    firstFailedAt: async () => (await attemptsOf(deps.queue(job.queueName), job, [])).findLast((a) => a.attempt === 1)?.at,
    updateProgress: async (p) => outputs.set('progress', p),
    log: async (line) => {
      await job.log(line);
    },
  };
}

/** A run's coalesced progress writes (core/engines/outputs.ts): BullMQ's own updateProgress, its event with it. */
function progressWriter(job: Job, deps: ConsumerDeps) {
  return new OutputWriter(
    (fields) => job.updateProgress(fields.progress as Parameters<Job['updateProgress']>[0]),
    (err) => deps.log.warn({ jobId: job.id, err: err.message }, 'could not write the progress of a running job'),
  );
}

/** Persist a failed outcome: returns the error BullMQ should see. */
async function persistFailure(deps: ConsumerDeps, job: Job, outcome: FailedOutcome, delays: Map<string, number>): Promise<Error> {
  await job.log(`attempt ${JSON.stringify(outcome.attempt)}`).catch(() => {});
  if (outcome.status === 'cancelled') return new UnrecoverableError(`${CANCELLED_PREFIX} ${outcome.error.message}`);
  if (outcome.status === 'dead') {
    await deadLetter(deps, job, outcome.reason, outcome.error, [outcome.attempt]);
    const final = new UnrecoverableError(outcome.error.message);
    final.stack = outcome.error.stack;
    return final;
  }
  delays.set(String(job.id), outcome.delayMs);
  return outcome.error;
}

function workerOptions(
  deps: ConsumerDeps,
  queueName: string,
  opts: ConsumeOptions,
  connection: Redis,
  delays: Map<string, number>,
): WorkerOptions {
  return {
    connection,
    prefix: deps.prefixOf(queueName),
    concurrency: opts.concurrency,
    limiter: opts.rateLimit ? { max: opts.rateLimit.max, duration: opts.rateLimit.durationMs } : undefined,
    lockDuration: deps.worker.lockDurationMs,
    stalledInterval: deps.worker.stalledIntervalMs,
    maxStalledCount: deps.worker.maxStalledCount,
    settings: {
      // the delay the executor decided for this job's failed run
      backoffStrategy: (_attemptsMade, _type, _err, job) => {
        const id = String(job?.id);
        const delay = delays.get(id) ?? 0;
        delays.delete(id);
        return delay;
      },
    },
  };
}

export function consumeQueue(deps: ConsumerDeps, queueName: string, opts: ConsumeOptions): Consumer {
  /** this consumer's runs in this process: job id → its cancel (CancelRelay reaches it through `cancel` below) */
  const running = new Map<string, RunCancel>();
  /** retry delays the executor decided, read by the backoff strategy: job id → ms */
  const delays = new Map<string, number>();

  // Two parameters on purpose: BullMQ makes an AbortController per job for a processor that takes its
  // signal (processor.length >= 3). Cancels come through our own RunCancel instead.
  const processor = async (job: Job) => {
    const outputs = progressWriter(job, deps);
    const consumed = consumedOf(job, queueName, deps, outputs);
    const cancel = new RunCancel();
    // a cancel that arrived before the job started here is pending in the relay
    if (deps.cancels.pending.take(consumed.id)) cancel.cancel('cancelled by request');
    running.set(consumed.id, cancel);
    try {
      const outcome = await opts.run(consumed, cancel);
      const written = outputs.end(true); // the run's last progress, before its outcome (undefined: none reported)
      if (written) await written;
      if (outcome.status === 'completed') return outcome.result;
      throw await persistFailure(deps, job, outcome, delays);
    } finally {
      if (running.get(consumed.id) === cancel) running.delete(consumed.id);
    }
  };
  const cancelRun = (id: string, queue: string | undefined, reason: string) => {
    if (queue !== undefined && queue !== queueName) return false;
    const run = running.get(id);
    run?.cancel(reason);
    return run !== undefined;
  };

  const connection = createRedis(deps.target, 'worker');
  connection.on('error', (err) => deps.log.warn({ queue: queueName, err: err.message }, 'redis (worker) error'));
  const worker = new Worker(queueName, processor, workerOptions(deps, queueName, opts, connection, delays));
  worker.on('error', (err) => deps.log.warn({ queue: queueName, err: err.message }, 'worker error'));
  worker.on('failed', (job, err) => {
    if (!job) return;
    delays.delete(String(job.id)); // read already, unless a built-in backoff type (a plain BullMQ job) took over
    // A job that stalled more often than allowed fails without our processor seeing it: dead-letter it here.
    if (/stalled more than allowable limit/i.test(err.message)) {
      deadLetter(deps, job, 'stalled', err, []).catch((e) =>
        deps.log.error({ jobId: job.id, err: (e as Error).message }, 'could not dead-letter stalled job'),
      );
    }
  });
  deps.cancels.workers.add(worker);
  deps.cancels.runs.add(cancelRun);
  const agingMs = deps.worker.priorityAgingMs ?? 0;
  const stopAging = agingMs > 0 ? startAgingSweep(deps.commands, deps.queue(queueName), agingMs, deps.log) : undefined;
  void deps.cancels.subscribe().catch((err) => deps.log.error({ err: err.message }, 'cancel subscription failed'));
  return {
    queue: queueName,
    close: async (graceMs: number) => {
      // On timeout, leave the running jobs behind: their locks stop being renewed, and the stalled-job
      // check (any worker) re-runs them. BullMQ's close(true) would not help here: a second close()
      // returns the first, still-waiting one.
      stopAging?.();
      const closed = await closeWithin(graceMs, worker.close(), () => running.size);
      deps.cancels.workers.delete(worker);
      deps.cancels.runs.delete(cancelRun);
      delays.clear();
      connection.disconnect();
      return closed;
    },
  };
}
