// The BullMQ engine: standard BullMQ queues under `<prefix>:<queue>`, a dead-letter queue `<queue>-dlq`
// beside each, and a few keys of our own under `<prefix>:_conveyor:` (idempotency records, cancel
// tombstones, the cancel channel). See docs/bullmq-layout.md.
import { createHash, randomUUID } from 'node:crypto';
import { type Job, type JobsOptions, Queue, UnrecoverableError, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type {
  AttemptRecord,
  CancelOutcome,
  ConsumedJob,
  ConsumeOptions,
  Consumer,
  DeadLetter,
  Engine,
  EnqueueRequest,
  EnqueueResult,
  FailureDecision,
  JobMeta,
  JobState,
  JobView,
  QueueInfo,
} from '../../engine.ts';
import { createRedis } from './redis.ts';

export interface BullmqEngineOptions {
  redisUrl: string;
  /** BullMQ key prefix; a plain BullMQ client uses the same `prefix` option to reach our queues */
  prefix: string;
  logger: Logger;
  idempotencyTtlSeconds: number;
  /** the queues to search when a job is looked up by id alone (the catalog's queues) */
  queues: readonly string[];
  worker: { lockDurationMs: number; stalledIntervalMs: number; maxStalledCount: number };
}

/** Our reserved key inside job data; plain BullMQ producers simply leave it out. */
export const META_KEY = '$conveyor';
const BACKOFF_TYPE = 'conveyor';
const CANCELLED_PREFIX = '[cancelled]';
const DECISION = Symbol('conveyor.decision');
const neverAborted = new AbortController().signal;
export const dlqName = (queue: string) => `${queue}-dlq`;
/** BullMQ refuses integer custom ids, and plain BullMQ producers get integer ids: prefix those. */
/** The hash behind an idempotency key: names its Redis record and, as `idem-<hash>`, its job. */
export const idempotencyHash = (name: string, key: string) => createHash('sha256').update(`${name}\0${key}`).digest('hex').slice(0, 40);
/** The job id a job enqueued with this kind and idempotency key has. */
export const idempotencyJobId = (name: string, key: string) => `idem-${idempotencyHash(name, key)}`;
const dlqId = (id: string) => (/^\d+$/.test(id) ? `bullmq-${id}` : id);

type Envelope = Record<string, unknown> & { [META_KEY]?: JobMeta };

function splitData(data: unknown): { payload: unknown; meta: JobMeta } {
  if (data && typeof data === 'object' && !Array.isArray(data) && META_KEY in data) {
    const { [META_KEY]: meta, ...payload } = data as Envelope;
    return { payload, meta: meta ?? {} };
  }
  return { payload: data, meta: {} };
}

function toJobOptions(req: EnqueueRequest, jobId: string): JobsOptions {
  return {
    jobId,
    priority: req.priority,
    delay: req.delayMs > 0 ? req.delayMs : undefined,
    attempts: req.attempts,
    backoff: { type: BACKOFF_TYPE, delay: req.backoff.baseMs },
    // Jobs with an idempotency key are only trimmed by age (≥ IDEMPOTENCY_TTL_SECONDS, checked at boot), so a
    // repeated key always finds its job; a count trim could drop it early and let the repeat run it again.
    removeOnComplete: { age: req.retention.completedSeconds, count: req.idempotencyKey ? undefined : req.retention.completedCount },
    removeOnFail: { age: req.retention.failedSeconds, count: req.idempotencyKey ? undefined : req.retention.failedCount },
    stackTraceLimit: 5,
  };
}

const iso = (ms: number | undefined | null) => (ms ? new Date(ms).toISOString() : null);

function errorOf(job: Job): JobView['error'] {
  if (!job.failedReason) return null;
  const stack = job.stacktrace?.at(-1) ?? undefined;
  return { message: job.failedReason, stack };
}

export class BullmqEngine implements Engine {
  readonly kind = 'bullmq' as const;
  readonly capabilities = { priority: true, delay: true, cancelActive: true, pause: true, rateLimit: true, progress: true };

  private readonly producer: Redis;
  private subscriber: Redis | undefined;
  private readonly queues = new Map<string, Queue>();
  private readonly workers = new Set<Worker>();
  /** cancels that arrived for jobs this process had not yet started: id → expiry */
  private readonly pendingCancels = new Map<string, number>();
  private readonly log: Logger;

  constructor(private readonly opts: BullmqEngineOptions) {
    this.log = opts.logger.child({ engine: 'bullmq' });
    this.producer = createRedis(opts.redisUrl, 'producer');
    this.producer.on('error', (err) => this.log.warn({ err: err.message }, 'redis (producer) error'));
  }

  private key(...parts: string[]) {
    return [this.opts.prefix, '_conveyor', ...parts].join(':');
  }

  /** The BullMQ Queue object for `name`, created once, on the producer connection. */
  queue(name: string): Queue {
    let q = this.queues.get(name);
    if (!q) {
      q = new Queue(name, { connection: this.producer, prefix: this.opts.prefix });
      q.on('error', (err) => this.log.warn({ queue: name, err: err.message }, 'queue error'));
      this.queues.set(name, q);
    }
    return q;
  }

  // ── enqueue ─────────────────────────────────────────────────────────────────────────────────

  private envelope(req: EnqueueRequest): Envelope {
    const meta: JobMeta = { ...req.meta, timeoutMs: req.timeoutMs };
    return { ...(req.data as Record<string, unknown>), [META_KEY]: meta };
  }

  async enqueue(req: EnqueueRequest): Promise<EnqueueResult> {
    const q = this.queue(req.queue);
    if (req.idempotencyKey !== undefined) {
      const hash = idempotencyHash(req.name, req.idempotencyKey);
      const jobId = `idem-${hash}`; // = idempotencyJobId(name, key)
      const claimed = await this.producer.set(this.key('idem', hash), jobId, 'EX', this.opts.idempotencyTtlSeconds, 'NX');
      if (claimed === null) {
        // Someone enqueued this key before. Return their job; re-add only if it never got written
        // (the first request died between the claim and the add).
        const existing = await this.getJob(jobId, [req.queue]);
        if (existing) return { job: existing, created: false };
      }
      const job = await q.add(req.name, this.envelope(req), toJobOptions(req, jobId));
      return { job: await this.viewOf(job, req.delayMs > 0 ? 'delayed' : 'waiting'), created: claimed !== null };
    }
    const jobId = req.jobId ?? randomUUID();
    if (req.jobId !== undefined) {
      const existing = await q.getJob(req.jobId);
      if (existing) return { job: await this.viewOf(existing), created: false };
    }
    const job = await q.add(req.name, this.envelope(req), toJobOptions(req, jobId));
    return { job: await this.viewOf(job, req.delayMs > 0 ? 'delayed' : 'waiting'), created: true };
  }

  async enqueueMany(reqs: EnqueueRequest[]): Promise<EnqueueResult[]> {
    const results: EnqueueResult[] = new Array(reqs.length);
    const plainByQueue = new Map<string, number[]>();
    const special: number[] = [];
    reqs.forEach((r, i) => {
      if (r.idempotencyKey !== undefined || r.jobId !== undefined) special.push(i);
      else {
        const list = plainByQueue.get(r.queue);
        if (list) list.push(i);
        else plainByQueue.set(r.queue, [i]);
      }
    });
    await Promise.all([
      ...[...plainByQueue].map(async ([queue, idx]) => {
        const jobs = await this.queue(queue).addBulk(
          idx.map((i) => {
            const r = reqs[i] as EnqueueRequest;
            return { name: r.name, data: this.envelope(r), opts: toJobOptions(r, randomUUID()) };
          }),
        );
        await Promise.all(
          jobs.map(async (job, k) => {
            const i = idx[k] as number;
            results[i] = { job: await this.viewOf(job, (reqs[i] as EnqueueRequest).delayMs > 0 ? 'delayed' : 'waiting'), created: true };
          }),
        );
      }),
      ...special.map(async (i) => {
        results[i] = await this.enqueue(reqs[i] as EnqueueRequest);
      }),
    ]);
    return results;
  }

  // ── read ────────────────────────────────────────────────────────────────────────────────────

  /** `knownState` skips a round trip when the caller just created the job. */
  private async viewOf(job: Job, knownState?: JobState): Promise<JobView> {
    let state: JobState;
    if (knownState) state = knownState;
    else {
      const raw = await job.getState();
      if ((raw === 'completed' || raw === 'failed') && !job.finishedOn) {
        // the job finished between reading its hash and its state: read the hash again
        job = (await this.queue(job.queueName).getJob(String(job.id))) ?? job;
      }
      state = await this.mapState(job, raw);
    }
    const { payload } = splitData(job.data);
    return {
      id: String(job.id),
      name: job.name,
      queue: job.queueName,
      state,
      priority: job.priority || job.opts.priority || 0,
      data: payload,
      attempts: { made: job.attemptsStarted ?? job.attemptsMade, max: Math.max(1, job.opts.attempts ?? 1) },
      progress: job.progress ?? null,
      result: job.returnvalue ?? null,
      error: state === 'completed' ? null : errorOf(job),
      createdAt: new Date(job.timestamp).toISOString(),
      startedAt: iso(job.processedOn),
      finishedAt: iso(job.finishedOn),
      runAt: job.delay > 0 ? new Date(job.timestamp + job.delay).toISOString() : null,
    };
  }

  private async mapState(job: Job, raw: string): Promise<JobState> {
    switch (raw) {
      case 'delayed':
        return 'delayed';
      case 'active':
        return 'active';
      case 'completed':
        return 'completed';
      case 'failed': {
        if (job.failedReason?.startsWith(CANCELLED_PREFIX)) return 'cancelled';
        const dead = await this.queue(dlqName(job.queueName)).getJobState(dlqId(String(job.id)));
        return dead === 'unknown' ? 'failed' : 'dead';
      }
      default:
        return 'waiting'; // waiting, prioritized, paused, waiting-children
    }
  }

  async getJob(id: string, queues?: string[]): Promise<JobView | null> {
    const names = queues ?? [...this.knownQueues()];
    const found = await Promise.all(names.map((q) => this.queue(q).getJob(id)));
    const job = found.find((j): j is Job => j !== undefined);
    if (job) return this.viewOf(job);
    const tomb = await this.producer.get(this.key('cancelled', id));
    return tomb ? (JSON.parse(tomb) as JobView) : null;
  }

  private knownQueues() {
    return this.opts.queues;
  }

  // ── cancel ──────────────────────────────────────────────────────────────────────────────────

  async cancel(id: string): Promise<CancelOutcome> {
    const names = [...this.knownQueues()];
    const found = (await Promise.all(names.map((q) => this.queue(q).getJob(id)))).find((j): j is Job => !!j);
    if (!found) {
      const tomb = await this.producer.get(this.key('cancelled', id));
      return tomb ? { outcome: 'finished', job: JSON.parse(tomb) as JobView } : { outcome: 'not_found' };
    }
    const view = await this.viewOf(found);
    if (view.state === 'waiting' || view.state === 'delayed') {
      try {
        const tomb: JobView = { ...view, state: 'cancelled', finishedAt: new Date().toISOString() };
        const ttl = Math.ceil((found.opts.removeOnFail as { age?: number } | undefined)?.age ?? 86_400);
        await this.producer.set(this.key('cancelled', id), JSON.stringify(tomb), 'EX', ttl);
        const removed = await this.queue(view.queue).remove(id);
        if (removed === 1) return { outcome: 'cancelled', job: tomb };
        await this.producer.del(this.key('cancelled', id));
      } catch (err) {
        // remove() refuses a job that became active (it is locked): fall through to the active path
        await this.producer.del(this.key('cancelled', id));
        this.log.debug({ jobId: id, err: (err as Error).message }, 'remove failed, cancelling as active');
      }
      return this.cancel(id);
    }
    if (view.state === 'active') {
      await this.producer.publish(this.key('cancel'), JSON.stringify({ id, queue: view.queue }));
      return { outcome: 'cancelling', job: view };
    }
    return { outcome: 'finished', job: view };
  }

  private async ensureSubscriber() {
    if (this.subscriber) return;
    this.subscriber = createRedis(this.opts.redisUrl, 'subscriber');
    this.subscriber.on('error', (err) => this.log.warn({ err: err.message }, 'redis (subscriber) error'));
    this.subscriber.on('message', (_channel, message) => {
      const { id } = JSON.parse(message) as { id: string };
      let hit = false;
      for (const w of this.workers) hit = w.cancelJob(id, 'cancelled by request') || hit;
      if (!hit) this.pendingCancels.set(id, Date.now() + 60_000);
    });
    await this.subscriber.subscribe(this.key('cancel'));
  }

  private takePendingCancel(id: string): boolean {
    if (this.pendingCancels.size === 0) return false;
    const now = Date.now();
    for (const [k, exp] of this.pendingCancels) if (exp < now) this.pendingCancels.delete(k);
    return this.pendingCancels.delete(id);
  }

  // ── consume ─────────────────────────────────────────────────────────────────────────────────

  consume(queueName: string, opts: ConsumeOptions): Consumer {
    const running = new Set<string>();
    const processor = async (job: Job, _token: string | undefined, signal: AbortSignal | undefined) => {
      const { payload, meta } = splitData(job.data);
      const consumed: ConsumedJob = {
        id: String(job.id),
        name: job.name,
        queue: queueName,
        data: payload,
        attempt: job.attemptsMade + 1,
        maxAttempts: Math.max(1, job.opts.attempts ?? 1),
        meta,
        updateProgress: (p) => job.updateProgress(p),
        log: async (line) => {
          await job.log(line);
        },
      };
      // BullMQ fires `signal` on worker.cancelJob(); a cancel that arrived before the job started is pending here
      const runSignal = this.takePendingCancel(consumed.id) ? AbortSignal.abort('cancelled by request') : (signal ?? neverAborted);
      running.add(consumed.id);
      try {
        return await opts.process(consumed, runSignal);
      } catch (err) {
        throw await this.onFailure(job, consumed, opts.classify(err, consumed));
      } finally {
        running.delete(consumed.id);
      }
    };
    const limiter = opts.rateLimit ? { max: opts.rateLimit.max, duration: opts.rateLimit.durationMs } : undefined;
    const connection = createRedis(this.opts.redisUrl, 'worker');
    connection.on('error', (err) => this.log.warn({ queue: queueName, err: err.message }, 'redis (worker) error'));
    const worker = new Worker(queueName, processor, {
      connection,
      prefix: this.opts.prefix,
      concurrency: opts.concurrency,
      limiter,
      lockDuration: this.opts.worker.lockDurationMs,
      stalledInterval: this.opts.worker.stalledIntervalMs,
      maxStalledCount: this.opts.worker.maxStalledCount,
      settings: {
        backoffStrategy: (_attemptsMade, _type, err) =>
          (err as (Error & { [DECISION]?: FailureDecision }) | undefined)?.[DECISION]?.action === 'retry'
            ? ((err as Error & { [DECISION]: { delayMs: number } })[DECISION].delayMs ?? 0)
            : 0,
      },
    });
    worker.on('error', (err) => this.log.warn({ queue: queueName, err: err.message }, 'worker error'));
    worker.on('failed', (job, err) => {
      // A job that stalled more often than allowed fails without our processor seeing it: dead-letter it here.
      if (job && /stalled more than allowable limit/i.test(err.message)) {
        this.deadLetter(job, 'stalled', err, []).catch((e) =>
          this.log.error({ jobId: job.id, err: (e as Error).message }, 'could not dead-letter stalled job'),
        );
      }
    });
    this.workers.add(worker);
    void this.ensureSubscriber().catch((err) => this.log.error({ err: err.message }, 'cancel subscription failed'));
    return {
      queue: queueName,
      close: async (graceMs: number) => {
        let timer: NodeJS.Timeout | undefined;
        const timedOut = new Promise<'timeout'>((resolve) => {
          timer = setTimeout(() => resolve('timeout'), graceMs);
        });
        const outcome = await Promise.race([worker.close().then(() => 'closed' as const), timedOut]);
        clearTimeout(timer);
        const abandoned = outcome === 'timeout' ? running.size : 0;
        // On timeout, leave the running jobs behind: their locks stop being renewed, and the stalled-job
        // check (any worker) re-runs them. BullMQ's close(true) would not help here: a second close()
        // returns the first, still-waiting one.
        this.workers.delete(worker);
        connection.disconnect();
        return { abandoned };
      },
    };
  }

  /** Carry out a failure decision; returns the error BullMQ should see. */
  private async onFailure(job: Job, consumed: ConsumedJob, decision: FailureDecision): Promise<Error> {
    const record: AttemptRecord = {
      attempt: consumed.attempt,
      at: new Date().toISOString(),
      error: `${decision.error.name}: ${decision.error.message}`,
    };
    await job.log(`attempt ${JSON.stringify(record)}`).catch(() => {});
    if (decision.action === 'cancelled') {
      return new UnrecoverableError(`${CANCELLED_PREFIX} ${decision.error.message}`);
    }
    const exhausted = consumed.attempt >= consumed.maxAttempts;
    if (decision.action === 'dead' || exhausted) {
      const reason = decision.action === 'dead' ? decision.reason : `failed ${consumed.attempt} of ${consumed.maxAttempts} attempts`;
      await this.deadLetter(job, reason, decision.error, [record]);
      const final = new UnrecoverableError(decision.error.message);
      final.stack = decision.error.stack;
      return final;
    }
    const err = decision.error as Error & { [DECISION]?: FailureDecision };
    err[DECISION] = decision;
    return err;
  }

  private async deadLetter(job: Job, reason: string, error: Error, extra: AttemptRecord[]) {
    const logs = await this.queue(job.queueName).getJobLogs(String(job.id), 0, 200);
    const attempts = logs.logs.filter((l) => l.startsWith('attempt {')).map((l) => JSON.parse(l.slice('attempt '.length)) as AttemptRecord);
    for (const r of extra) if (!attempts.some((a) => a.attempt === r.attempt)) attempts.push(r);
    const { payload } = splitData(job.data);
    const letter: DeadLetter & { opts: JobsOptions; rawData: unknown } = {
      id: String(job.id),
      name: job.name,
      queue: job.queueName,
      data: payload,
      reason,
      error: { name: error.name, message: error.message, stack: error.stack },
      attempts,
      deadAt: new Date().toISOString(),
      opts: job.opts,
      rawData: job.data,
    };
    await this.queue(dlqName(job.queueName)).add(job.name, letter, { jobId: dlqId(String(job.id)) });
    this.log.warn({ jobId: job.id, kind: job.name, queue: job.queueName, reason }, 'job dead-lettered');
  }

  // ── queues ──────────────────────────────────────────────────────────────────────────────────

  async queueInfo(names: string[]): Promise<QueueInfo[]> {
    return Promise.all(
      names.map(async (name) => {
        const q = this.queue(name);
        const [c, dead, paused, oldest] = await Promise.all([
          q.getJobCounts('waiting', 'prioritized', 'waiting-children', 'delayed', 'active', 'completed', 'failed'),
          this.queue(dlqName(name)).getJobCounts('waiting', 'prioritized', 'delayed'),
          q.isPaused(),
          this.oldestWaitingAge(name),
        ]);
        const n = (k: string) => c[k] ?? 0;
        return {
          name,
          paused,
          counts: {
            waiting: n('waiting') + n('prioritized') + n('waiting-children'),
            delayed: n('delayed'),
            active: n('active'),
            completed: n('completed'),
            failed: n('failed'),
            dead: Object.values(dead).reduce((a, b) => a + b, 0),
          },
          oldestWaitingAgeSeconds: oldest,
        };
      }),
    );
  }

  /**
   * Age of the oldest job that is ready to run: the tail of the wait list plus the head of each
   * priority band of the prioritized set (BullMQ scores it priority·2^32 + insertion counter).
   * Readiness time is creation time plus delay, so a promoted delayed job counts from when it became due.
   */
  private async oldestWaitingAge(queue: string): Promise<number> {
    const base = `${this.opts.prefix}:${queue}`;
    const pipe = this.producer.pipeline();
    pipe.lrange(`${base}:wait`, -1, -1);
    pipe.lrange(`${base}:paused`, -1, -1);
    for (let p = 1; p <= 10; p++) pipe.zrangebyscore(`${base}:prioritized`, p * 2 ** 32, (p + 1) * 2 ** 32 - 1, 'LIMIT', 0, 1);
    const res = (await pipe.exec()) ?? [];
    const ids = res.flatMap(([, v]) => (Array.isArray(v) ? (v as string[]) : []));
    if (ids.length === 0) return 0;
    const times = await Promise.all(
      ids.map(async (id) => {
        const [ts, delay] = await this.producer.hmget(`${base}:${id}`, 'timestamp', 'delay');
        return ts ? Number(ts) + Number(delay ?? 0) : Number.POSITIVE_INFINITY;
      }),
    );
    const oldest = Math.min(...times);
    return Number.isFinite(oldest) ? Math.max(0, (Date.now() - oldest) / 1000) : 0;
  }

  async pauseQueue(queue: string) {
    await this.queue(queue).pause();
  }

  async resumeQueue(queue: string) {
    await this.queue(queue).resume();
  }

  // ── dead letters ────────────────────────────────────────────────────────────────────────────

  async listDeadLetters(queues: string[], limit: number): Promise<DeadLetter[]> {
    const lists = await Promise.all(
      queues.map(async (q) => {
        const jobs = await this.queue(dlqName(q)).getJobs(['waiting', 'prioritized', 'delayed'], 0, limit - 1);
        return jobs.filter(Boolean).map((j) => {
          const { opts: _o, rawData: _r, ...letter } = j.data as DeadLetter & { opts: unknown; rawData: unknown };
          return letter;
        });
      }),
    );
    return lists
      .flat()
      .sort((a, b) => b.deadAt.localeCompare(a.deadAt))
      .slice(0, limit);
  }

  async replayDeadLetter(id: string, queues: string[]): Promise<JobView | null> {
    for (const queue of queues) {
      const dlq = this.queue(dlqName(queue));
      const letterJob = await dlq.getJob(dlqId(id));
      if (!letterJob) continue;
      const letter = letterJob.data as DeadLetter & { opts: JobsOptions; rawData: unknown };
      const q = this.queue(queue);
      // The dead job still sits in `failed` under the same id: remove it so the replay can reuse the id.
      await q.remove(id).catch(() => 0);
      const { delay: _d, ...opts } = letter.opts;
      // reuse the id, unless BullMQ gave it (an integer): then the replay gets a new one
      const job = await q.add(letter.name, letter.rawData, { ...opts, jobId: /^\d+$/.test(id) ? undefined : id });
      await dlq.remove(dlqId(id));
      this.log.info({ jobId: id, queue }, 'dead letter replayed');
      return this.viewOf(job, 'waiting');
    }
    return null;
  }

  async ping() {
    await this.producer.ping();
  }

  async close() {
    await Promise.all([...this.workers].map((w) => w.close(true).catch(() => {})));
    await Promise.all([...this.queues.values()].map((q) => q.close().catch(() => {})));
    this.subscriber?.disconnect();
    this.producer.disconnect();
  }
}
