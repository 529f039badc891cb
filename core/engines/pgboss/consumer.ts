// A consumer of one queue in this process: a fetch loop over pg-boss's `fetch` (SKIP LOCKED, priority
// order) that keeps `concurrency` runs going, woken by NOTIFY (new jobs, resume), by a freed slot, by a
// retry coming due, or by the backstop poll. Each run goes through the executor (`opts.run`); this class
// persists the outcome (completions batched, failures at once). Running and fetched-ahead jobs are
// heartbeated; a consumer that dies leaves them to the engine's stall sweep (stalls.ts), which puts
// them back without spending an attempt. A run's start is marked in its row (start-marks.ts, batched); jobs
// fetched ahead carry no mark until they start, so a crash gives them back untouched.
import type { Job as BossJob } from 'pg-boss';
import type { ConsumedJob, ConsumeOptions, Consumer } from '../../engine.ts';
import { OutputWriter } from '../outputs.ts';
import { agingSweepIntervalMs, closeWithin, META_KEY, RunCancel } from '../shared.ts';

const isObject = (v: unknown): v is object => typeof v === 'object' && v !== null && !Array.isArray(v);

import { Completions } from './completions.ts';
import { type PgbossContext, splitData } from './context.ts';
import type { Listener } from './listener.ts';
import { persistFailure } from './outcomes.ts';
import { RateWindow } from './rate.ts';
import { StartMarks } from './start-marks.ts';

type Fetched = BossJob<Record<string, unknown>>;

/** runs faster than this on average make a consumer fetch ahead of its free slots, up to MAX_PREFETCH */
const FAST_RUN_MS = 20;
const MAX_PREFETCH = 500;
const LOG_LINES = 200;
/** jobs one priority-aging sweep looks at, oldest first */
const AGING_BATCH = 1_000;

export interface ConsumerDeps {
  ctx: PgbossContext;
  listener: Listener;
  /** retention by count, run every minute by each consumer */
  trim(queue: string): Promise<void>;
  /** called once the consumer has closed */
  onClosed(consumer: PgbossConsumer): void;
}

export class PgbossConsumer implements Consumer {
  /** job uuid → its run, settled once its outcome is persisted */
  private readonly running = new Map<string, Promise<void>>();
  /**
   * Jobs fetched ahead of free slots. Only while runs are fast (a few ms): then one fetch of hundreds
   * costs what one of a few costs, and a buffered job waits well under a second. Slow queues fetch
   * exactly their free slots. Buffered jobs are `active` in the table and heartbeated like running ones.
   */
  private readonly buffer: Fetched[] = [];
  /** runs started here, marked in their rows in batches */
  private readonly starts: StartMarks;
  private readonly completions: Completions;
  /** the queue's rate limit, counted across every worker process (rate.ts) */
  private readonly rate: RateWindow | undefined;
  /** moving average of run time; pessimistic until measured */
  private avgRunMs = 1_000;
  private stopping = false;
  /** something changed since the loop last looked (a slot freed, a nudge): do not sleep */
  private dirty = true;
  /** jobs may be waiting (NOTIFY, a retry coming due, resume, the poll); after a short fetch the queue is drained */
  private hint = true;
  /** ends the current idle wait early */
  private wakeNow: (() => void) | undefined;
  private readonly unsubscribe: () => void;
  private readonly heartbeat: NodeJS.Timeout;
  private readonly trim: NodeJS.Timeout;
  private readonly aging: NodeJS.Timeout | undefined;
  private readonly loop: Promise<void>;

  constructor(
    readonly queue: string,
    private readonly opts: ConsumeOptions,
    private readonly deps: ConsumerDeps,
  ) {
    const { ctx } = deps;
    this.rate = opts.rateLimit ? new RateWindow(ctx, queue, opts.rateLimit) : undefined;
    this.starts = new StartMarks(ctx, queue, (id) => this.running.has(id));
    this.completions = new Completions(ctx, queue, Math.max(opts.concurrency * 4, 2 * MAX_PREFETCH), (ids) => ctx.emitEvents(ids, 'state'));
    this.unsubscribe = deps.listener.onWake(queue, () => this.nudge());
    this.heartbeat = setInterval(() => this.touch(), (ctx.heartbeatSeconds * 1000) / 3);
    this.heartbeat.unref();
    this.trim = setInterval(() => void deps.trim(queue), 60_000);
    this.trim.unref();
    this.aging = ctx.priorityAgingMs > 0 ? setInterval(() => void this.age(), agingSweepIntervalMs(ctx.priorityAgingMs)) : undefined;
    this.aging?.unref();
    this.loop = this.main().catch((err) => ctx.log.error({ queue, err: (err as Error).message }, 'consumer stopped'));
  }

  /** Look again: a slot freed. */
  private wake() {
    this.dirty = true;
    this.wakeNow?.();
  }

  /** Jobs may have arrived: fetch on the next look. */
  private nudge() {
    this.hint = true;
    this.wake();
  }

  /** Wait up to `ms`, or until woken; the full wait ends in a backstop look whether or not anyone told us. */
  private idle(ms: number): Promise<void> {
    if (this.dirty || this.stopping) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wakeNow = undefined;
        resolve();
      };
      const timer = setTimeout(() => {
        this.hint = true;
        done();
      }, ms);
      this.wakeNow = done;
    });
  }

  private async main() {
    // the database may be down at boot: keep trying, as after any outage
    for (let delay = 500; !this.stopping; delay = Math.min(delay * 2, 10_000)) {
      try {
        await this.deps.ctx.start();
        break;
      } catch (err) {
        this.deps.ctx.log.warn(
          { queue: this.queue, err: (err as Error).message, retryInMs: delay },
          'postgres unavailable; consumer waits',
        );
        await this.idle(delay);
        this.dirty = false;
      }
    }
    await this.deps.listener.ensure().catch(() => {});
    while (!this.stopping) await this.step();
  }

  /** One look: start what the free slots allow, fetch what is worth holding, or wait. */
  private async step() {
    this.dirty = false;
    const poll = this.deps.ctx.pollIntervalMs;
    const paused = this.deps.listener.paused.has(this.queue);
    if (paused && this.buffer.length === 0) return this.idle(poll);
    let slots = this.opts.concurrency - this.running.size;
    if (this.rate) return this.rateLimitedStep(this.rate, slots, paused, poll);
    const active: string[] = [];
    for (; slots > 0 && this.buffer.length > 0; slots--) {
      const job = this.buffer.shift() as Fetched;
      active.push(job.id);
      this.start(job);
    }
    if (active.length > 0) {
      this.starts.add(active);
      this.deps.ctx.emitEvents(active, 'state');
    }
    const want = Math.max(0, slots) + (paused ? 0 : this.prefetchLimit()) - this.buffer.length;
    // nothing to take, or the buffer is still well stocked: wait for a run to finish (or a NOTIFY)
    if (want <= 0 || this.buffer.length >= this.opts.concurrency || !this.hint) return this.idle(poll);
    await this.fetch(want);
  }

  /**
   * Under a rate limit nothing is fetched ahead: the free slots ask the shared window for starts, exactly
   * that many jobs are fetched and started at once, and grants the fetch did not use are handed back.
   */
  private async rateLimitedStep(rate: RateWindow, slots: number, paused: boolean, poll: number) {
    if (slots <= 0 || paused || !this.hint) return this.idle(poll);
    let grant: Awaited<ReturnType<RateWindow['take']>>;
    try {
      grant = await rate.take(slots);
    } catch (err) {
      if (this.stopping) return;
      this.deps.ctx.log.warn({ queue: this.queue, err: (err as Error).message }, 'rate window unavailable; retrying');
      return this.idle(1_000);
    }
    if (grant.granted === 0) return this.idle(grant.retryMs);
    const jobs = await this.fetchBatch(grant.granted);
    for (const job of jobs ?? []) this.start(job);
    if (jobs?.length) {
      const ids = jobs.map((j) => j.id);
      this.starts.add(ids);
      this.deps.ctx.emitEvents(ids, 'state');
    }
    await rate
      .giveBack(grant.granted - (jobs?.length ?? 0), grant.windowStart)
      .catch((err) => this.deps.ctx.log.warn({ queue: this.queue, err: (err as Error).message }, 'could not hand back rate grants'));
    if (!jobs) return;
    if (jobs.length >= grant.granted) this.hint = true; // a full batch: there is likely more
    if (jobs.length === 0) await this.idle(poll);
  }

  private prefetchLimit() {
    return this.avgRunMs < FAST_RUN_MS && !this.opts.rateLimit ? Math.min(MAX_PREFETCH, this.opts.concurrency * 10) : 0;
  }

  /** Up to `n` jobs, or undefined when the fetch failed (after a pause before the next look). */
  private async fetchBatch(n: number): Promise<Fetched[] | undefined> {
    this.hint = false;
    try {
      return await this.deps.ctx.boss.fetch<Record<string, unknown>>(this.queue, { batchSize: n });
    } catch (err) {
      if (this.stopping) return undefined;
      this.deps.ctx.log.warn({ queue: this.queue, err: (err as Error).message }, 'fetch failed; retrying');
      this.hint = true;
      await this.idle(1_000);
      return undefined;
    }
  }

  private async fetch(want: number) {
    const jobs = await this.fetchBatch(want);
    if (!jobs) return;
    // beyond the free slots a job waits in the buffer, unmarked: a crash before it starts costs it nothing
    this.buffer.push(...jobs);
    if (jobs.length >= want) this.hint = true; // a full batch: there is likely more
    if (jobs.length === 0 && this.buffer.length === 0) await this.idle(this.deps.ctx.pollIntervalMs);
  }

  private start(job: Fetched) {
    const t0 = performance.now();
    const run = this.runOne(job).finally(() => {
      this.avgRunMs = this.avgRunMs * 0.9 + (performance.now() - t0) * 0.1;
      this.running.delete(job.id);
      this.wake();
    });
    this.running.set(job.id, run);
  }

  private async runOne(job: Fetched) {
    const { listener, ctx } = this.deps;
    const { consumed, progress, outputs } = this.consumedOf(job);
    if (this.opts.plain && consumed.name === this.opts.plain.kind && !(isObject(job.data) && META_KEY in job.data)) {
      const envelope = { kind: this.opts.plain.kind, maxAttempts: this.opts.plain.maxAttempts };
      await ctx
        .q(ctx.sql['adopt-plain'], [this.queue, job.id, JSON.stringify(envelope)])
        .catch((err) => ctx.log.warn({ jobId: job.id, err: (err as Error).message }, 'could not record the kind of a plain pg-boss job'));
    }
    const cancel = new RunCancel();
    listener.running.set(job.id, cancel);
    if (listener.pendingCancels.take(job.id)) cancel.cancel('cancelled by request');
    try {
      const outcome = await this.opts.run(consumed, cancel);
      if (outcome.status === 'completed') {
        outputs.end(false); // the completion writes the final progress; a completed job's output keeps no log
        return await this.completions.add(job.id, outcome.result, progress());
      }
      await outputs.end(true); // the failed run's last progress and log lines, before its failure
      await persistFailure(ctx, job.id, consumed, outcome).then(
        () => ctx.emitEvents([job.id], 'state'),
        (e) =>
          ctx.log.error(
            { jobId: consumed.id, err: (e as Error).message },
            'could not record failure; the job will be retried after its heartbeat lapses',
          ),
      );
      if (outcome.status === 'retry') setTimeout(() => this.nudge(), outcome.delayMs + 5).unref();
    } finally {
      if (listener.running.get(job.id) === cancel) listener.running.delete(job.id);
    }
  }

  /** The job as the executor sees it; progress and log lines reach the row through an OutputWriter (coalesced). */
  private consumedOf(job: Fetched): { consumed: ConsumedJob; progress: () => unknown; outputs: OutputWriter } {
    const { ctx } = this.deps;
    const { payload, meta } = splitData(job.data);
    // a plain pg-boss job (no envelope) on a queue of one kind runs as that kind (ConsumeOptions.plain)
    const plain = isObject(job.data) && META_KEY in job.data ? undefined : this.opts.plain;
    let progress: unknown;
    let logLines: string[] | undefined;
    const outputs = new OutputWriter(
      async (fields) => {
        await ctx.q(ctx.sql['set-output-fields'], [this.queue, job.id, JSON.stringify(fields)]);
        if ('progress' in fields) ctx.emitEvents([job.id], 'progress');
      },
      (err) => ctx.log.warn({ jobId: job.id, err: err.message }, 'could not write the progress or log of a running job'),
    );
    const consumed: ConsumedJob = {
      id: meta.id ?? job.id,
      name: plain?.kind ?? meta.kind,
      queue: this.queue,
      data: payload,
      attempt: job.retryCount + 1,
      maxAttempts: plain?.maxAttempts ?? meta.maxAttempts ?? 1,
      meta,
      firstFailedAt: async () =>
        ((await ctx.q(ctx.sql['first-failure'], [this.queue, job.id])).rows[0] as { at: string | null } | undefined)?.at ?? undefined,
      updateProgress: async (p) => {
        progress = p;
        outputs.set('progress', p);
      },
      log: async (line) => {
        logLines = [...(logLines ?? []), line].slice(-LOG_LINES);
        outputs.set('log', logLines);
      },
    };
    return { consumed, progress: () => progress, outputs };
  }

  /** the jobs this consumer runs, holds fetched ahead, or ran and has not yet written completed */
  heldIds(): string[] {
    return [...this.running.keys(), ...this.buffer.map((j) => j.id), ...this.completions.ids()];
  }

  private touch() {
    const ids = this.heldIds();
    if (ids.length === 0) return;
    this.deps.ctx.boss
      .touch(this.queue, ids)
      .catch((err) => this.deps.ctx.log.warn({ queue: this.queue, err: (err as Error).message }, 'heartbeat failed'));
  }

  /** One priority-aging sweep of this queue (bounded; another process's sweep may run beside it). */
  private async age() {
    const { ctx } = this.deps;
    await ctx
      .q(ctx.sql['age-priorities'], [this.queue, ctx.priorityAgingMs, AGING_BATCH])
      .catch((err) => ctx.log.warn({ queue: this.queue, err: (err as Error).message }, 'priority aging sweep failed'));
  }

  /** Give fetched-but-never-started jobs back, as if they had not been fetched (attempt count restored). */
  private async release(ids: string[]) {
    if (ids.length === 0) return;
    const { ctx } = this.deps;
    await ctx
      .q(ctx.sql['release-jobs'], [this.queue, ids])
      .catch((err) =>
        ctx.log.warn(
          { queue: this.queue, err: (err as Error).message },
          'could not release prefetched jobs; they are retried after their heartbeat lapses',
        ),
      );
  }

  async close(graceMs: number) {
    this.stopping = true;
    this.wake();
    this.unsubscribe();
    await this.loop;
    await this.release(this.buffer.splice(0).map((j) => j.id));
    // every run that started is marked before the process may go: an abandoned one then counts a stall
    await this.starts.flush();
    const closed = await closeWithin(graceMs, Promise.all(this.running.values()), () => this.running.size);
    clearInterval(this.heartbeat);
    clearInterval(this.trim);
    clearInterval(this.aging);
    await this.completions.flush();
    this.deps.onClosed(this);
    // unfinished runs stay `active` without a heartbeat: the stall sweep puts them back (one stall, no attempt)
    return closed;
  }
}
