// The BullMQ engine: standard BullMQ queues under `<prefix>:<queue>`, a dead-letter queue `<queue>-dlq`
// beside each, and a few keys of our own under `<prefix>:_conveyor:` (cancel tombstones, the cancel
// channel). Enqueue writes are atomic (add.ts). See docs/bullmq-layout.md.
import { randomUUID } from 'node:crypto';
import { type Job, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type {
  CancelOutcome,
  ConsumeOptions,
  Consumer,
  DeadLetter,
  Engine,
  EnqueueRequest,
  EnqueueResult,
  JobEvent,
  JobMeta,
  JobState,
  JobView,
  QueueInfo,
} from '../../engine.ts';
import { dlqName, joinEnvelope } from '../shared.ts';
import { type Added, addAtomically, findExisting, type Planned, type Writer } from './add.ts';
import { CancelRelay } from './cancels.ts';
import { type ConsumerDeps, consumeQueue, type StoredLetter } from './consumer.ts';
import { EventRelay } from './events.ts';
import { dlqId, idempotencyJobId, isJobId, toJobOptions, viewOf } from './jobs.ts';
import { type KeyLayout, queuePrefix, sideBase } from './keys.ts';
import { createRedis, type RedisTarget } from './redis.ts';
import { SearchIndex } from './search.ts';

export { dlqName, META_KEY } from '../shared.ts';
export { idempotencyHash, idempotencyJobId } from './jobs.ts';

export interface BullmqEngineOptions {
  redisUrl: string;
  /** BullMQ key prefix; a plain BullMQ client uses the same `prefix` option to reach our queues */
  prefix: string;
  /** REDIS_CLUSTER: `redisUrl` names a cluster node; every queue is hash-tagged (keys.ts) */
  cluster?: boolean;
  logger: Logger;
  idempotencyTtlSeconds: number;
  /** the queues to search when a job is looked up by id alone (the catalog's queues) */
  queues: readonly string[];
  worker: {
    lockDurationMs: number;
    stalledIntervalMs: number;
    maxStalledCount: number;
    /** waiting this long raises a job's priority by one (toward 1); 0 or absent: no aging (aging.ts) */
    priorityAgingMs?: number;
  };
}

export class BullmqEngine implements Engine {
  readonly kind = 'bullmq' as const;
  readonly capabilities = { priority: true, delay: true, cancelActive: true, pause: true, rateLimit: true, progress: true };

  private readonly producer: Redis;
  /** the enqueue writes (add.ts): fails fast, never queues or re-sends a command */
  private readonly writer: Writer;
  private readonly writerQueues = new Map<string, Queue>();
  private readonly queues = new Map<string, Queue>();
  private readonly cancels: CancelRelay;
  private readonly consumerDeps: ConsumerDeps;
  private readonly log: Logger;
  /** the job search index (./search.ts), kept on every enqueue and replay */
  readonly searchIndex: SearchIndex;
  /** where the keys live (prefix, cluster hash tags) */
  readonly layout: KeyLayout;
  /** the Redis to connect to; the backend's side-store connections use the same */
  readonly target: RedisTarget;
  private readonly events: EventRelay;

  constructor(private readonly opts: BullmqEngineOptions) {
    this.log = opts.logger.child({ engine: 'bullmq' });
    this.layout = { prefix: opts.prefix, cluster: opts.cluster ?? false };
    this.target = { url: opts.redisUrl, cluster: this.layout.cluster };
    this.producer = createRedis(this.target, 'producer');
    this.producer.on('error', (err) => this.log.warn({ err: err.message }, 'redis (producer) error'));
    const writer = createRedis(this.target, 'writer');
    writer.on('error', (err) => this.log.debug({ err: err.message }, 'redis (writer) error'));
    this.cancels = new CancelRelay(this.target, this.key('cancel'), this.log);
    this.consumerDeps = {
      ...opts,
      target: this.target,
      prefixOf: (name) => this.queuePrefix(name),
      log: this.log,
      queue: (name) => this.queue(name),
      cancels: this.cancels,
      commands: this.producer,
    };
    this.searchIndex = new SearchIndex(this.producer, (queue) => this.queuePrefix(queue));
    this.writer = {
      connection: writer,
      queue: (name) => this.writerQueue(name),
      prefixOf: (q) => this.queuePrefix(q),
      search: this.searchIndex,
      cluster: this.layout.cluster,
    };
    this.events = new EventRelay(
      { target: this.target, prefixOf: (q) => this.queuePrefix(q), queues: opts.queues, log: this.log },
      this.producer,
    );
  }

  private key(...parts: string[]) {
    return [sideBase(this.layout), ...parts].join(':');
  }

  /** The BullMQ prefix of `queue` (hash-tagged per queue on a cluster). */
  queuePrefix(queue: string): string {
    return queuePrefix(this.layout, queue);
  }

  /** The BullMQ Queue object for `name`, created once, on the producer connection. */
  queue(name: string): Queue {
    let q = this.queues.get(name);
    if (!q) {
      q = new Queue(name, { connection: this.producer, prefix: this.queuePrefix(name) });
      q.on('error', (err) => this.log.warn({ queue: name, err: err.message }, 'queue error'));
      this.queues.set(name, q);
    }
    return q;
  }

  private writerQueue(name: string): Queue {
    let q = this.writerQueues.get(name);
    if (!q) {
      q = new Queue(name, { connection: this.writer.connection, prefix: this.queuePrefix(name) });
      q.on('error', (err) => this.log.debug({ queue: name, err: err.message }, 'queue (writer) error'));
      this.writerQueues.set(name, q);
    }
    return q;
  }

  // ── enqueue ─────────────────────────────────────────────────────────────────────────────────

  private envelope(req: EnqueueRequest, now = Date.now()) {
    // runAt kept in the meta: BullMQ zeroes a job's delay once it comes due, and GET /v1/jobs/:id still shows it
    const meta: JobMeta & { runAt?: number } = { ...req.meta, timeoutMs: req.timeoutMs };
    if (req.delayMs > 0) meta.runAt = now + req.delayMs;
    return joinEnvelope(req.data, meta);
  }

  /** `knownState` skips a round trip when the caller just created the job. */
  private viewOf(job: Job, knownState?: JobState): Promise<JobView> {
    return viewOf(job, (name) => this.queue(name), knownState);
  }

  async enqueue(req: EnqueueRequest): Promise<EnqueueResult> {
    return (await this.enqueueMany([req]))[0] as EnqueueResult;
  }

  /**
   * One request's jobs, all or nothing (add.ts): jobs whose id is the caller's (idempotency key, deterministic
   * id) that exist already are answered as they are, the rest go to Redis in one MULTI (per queue on a cluster).
   */
  async enqueueMany(reqs: EnqueueRequest[]): Promise<EnqueueResult[]> {
    const planned = reqs.map((req) => this.plan(req));
    // a key or id repeated within the request: its first occurrence makes the job, the others answer it
    const firstOf = new Map<string, number>();
    const repeatOf = planned.map((p, i) => {
      const k = `${p.req.queue}\0${p.id}`;
      const first = firstOf.get(k);
      if (first === undefined) firstOf.set(k, i);
      return first;
    });
    const unique = planned.filter((_, i) => repeatOf[i] === undefined);
    const found = await findExisting(
      {
        commands: this.producer,
        prefixOf: (q) => this.queuePrefix(q),
        tombstoneKey: (id) => this.key('cancelled', id),
        getJob: (id, q) => this.getJob(id, [q]),
      },
      unique.filter((p) => p.fixed),
    );
    const toAdd = unique.filter((p) => !found.has(p));
    const added = await addAtomically(this.writer, toAdd);
    const byPlan = new Map<Planned, EnqueueResult>();
    for (const [p, job] of found) byPlan.set(p, { job, created: false });
    await Promise.all(
      toAdd.map(async (p, k) => {
        const a = added[k] as Added;
        const job = a.created
          ? await this.viewOf(a.job, p.req.delayMs > 0 ? 'delayed' : 'waiting')
          : await this.getJob(p.id, [p.req.queue]);
        if (!job) throw new Error(`job ${p.id} was neither created nor found`);
        byPlan.set(p, { job, created: a.created });
      }),
    );
    return planned.map((p, i) => {
      const first = repeatOf[i];
      if (first === undefined) return byPlan.get(p) as EnqueueResult;
      return { job: (byPlan.get(planned[first] as Planned) as EnqueueResult).job, created: false };
    });
  }

  private plan(req: EnqueueRequest): Planned {
    const fixed = req.idempotencyKey !== undefined || req.jobId !== undefined;
    const id = req.idempotencyKey !== undefined ? idempotencyJobId(req.name, req.idempotencyKey) : (req.jobId ?? randomUUID());
    const now = Date.now(); // the job's timestamp, so runAt in the meta is the one BullMQ counts from
    const opts = { ...toJobOptions(req, id, this.opts.idempotencyTtlSeconds), timestamp: now };
    return { req, id, fixed, data: this.envelope(req, now), opts };
  }

  // ── read ────────────────────────────────────────────────────────────────────────────────────

  async replaceDelayed(req: EnqueueRequest): Promise<JobView | null> {
    const job = req.jobId === undefined ? undefined : await this.queue(req.queue).getJob(req.jobId);
    if (!job || !(await job.isDelayed())) return null;
    try {
      await job.changeDelay(req.delayMs); // BullMQ refuses unless the job is still delayed
    } catch {
      return null;
    }
    await job.updateData(this.envelope(req));
    return this.getJob(job.id as string, [req.queue]);
  }

  async getJob(id: string, queues?: string[]): Promise<JobView | null> {
    if (!isJobId(id)) return null;
    const names = queues ?? [...this.knownQueues()];
    const found = await Promise.all(names.map((q) => this.queue(q).getJob(id)));
    const job = found.find((j): j is Job => j !== undefined);
    if (job) return this.viewOf(job);
    const tomb = await this.producer.get(this.key('cancelled', id));
    return tomb ? (JSON.parse(tomb) as JobView) : null;
  }

  /** each job as getJob reads it (BullMQ has no multi-job read; the commands go out together) */
  getJobs(ids: readonly string[]): Promise<(JobView | null)[]> {
    return Promise.all(ids.map((id) => this.getJob(id)));
  }

  private knownQueues() {
    return this.opts.queues;
  }

  // ── cancel ──────────────────────────────────────────────────────────────────────────────────

  async cancel(id: string): Promise<CancelOutcome> {
    if (!isJobId(id)) return { outcome: 'not_found' };
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
      await this.cancels.publish(this.producer, id, view.queue);
      return { outcome: 'cancelling', job: view };
    }
    return { outcome: 'finished', job: view };
  }

  // ── consume ─────────────────────────────────────────────────────────────────────────────────

  consume(queueName: string, opts: ConsumeOptions): Consumer {
    return consumeQueue(this.consumerDeps, queueName, opts);
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
    const base = `${this.queuePrefix(queue)}:${queue}`;
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
          const { opts: _o, rawData: _r, ...letter } = j.data as StoredLetter;
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
    if (!isJobId(id)) return null;
    for (const queue of queues) {
      const dlq = this.queue(dlqName(queue));
      const letterJob = await dlq.getJob(dlqId(id));
      if (!letterJob) continue;
      const letter = letterJob.data as StoredLetter;
      const q = this.queue(queue);
      // The dead job still sits in `failed` under the same id: remove it so the replay can reuse the id.
      await q.remove(id).catch(() => 0);
      // no deduplication: the key's record may outlive the dead job (then BullMQ's add would make nothing);
      // the record stays and still answers repeats of the key with this replayed job
      const { delay: _d, deduplication: _k, ...opts } = letter.opts;
      // reuse the id, unless BullMQ gave it (an integer): then the replay gets a new one
      const job = await q.add(letter.name, letter.rawData, { ...opts, jobId: /^\d+$/.test(id) ? undefined : id });
      await dlq.remove(dlqId(id));
      await this.searchIndex.add([job]);
      this.log.info({ jobId: id, queue }, 'dead letter replayed');
      return this.viewOf(job, 'waiting');
    }
    return null;
  }

  watchJob(id: string, fn: (e: JobEvent) => void): Promise<() => void> {
    return this.events.watch(id, fn);
  }

  async ping() {
    await this.producer.ping();
  }

  async close() {
    await this.events.close();
    await Promise.all([...this.cancels.workers].map((w) => w.close(true).catch(() => {})));
    await Promise.all([...this.queues.values(), ...this.writerQueues.values()].map((q) => q.close().catch(() => {})));
    this.cancels.close();
    this.searchIndex.close();
    this.producer.disconnect();
    this.writer.connection.disconnect();
  }
}
