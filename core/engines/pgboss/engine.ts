// The Postgres engine on pg-boss 12. pg-boss stores the jobs (its `job` table, partitioned by queue)
// and hands them out (`fetch`, SKIP LOCKED, priority order); this engine adds what the seam asks for and
// pg-boss leaves out: the executor's exact retry delays, dead letters with error + attempt history,
// cancel of running jobs, pause/resume, and millisecond pickup. See docs/engines.md.
// This file is the facade; each role has its module beside it:
//   consumer.ts (fetch loop) · completions.ts (batched) · outcomes.ts (failed runs) · dead-letters.ts
//   listener.ts (LISTEN: wake, cancel, pause) · control.ts (cancel, pause, resume) · enqueue.ts
//   reads.ts (job views, counts) · retention.ts (trim by count) · sql/ (one statement per file)
//
// Layout inside the schema (one schema per deployment, named after QUEUE_PREFIX):
//   pg-boss tables ........... job, queue, version, ... (pg-boss owns and migrates them)
//   queue `<q>` .............. one per catalog queue, policy standard, notify on
//   queue `<q>-dlq` .......... dead letters of `<q>`; nobody consumes it; rows keep the dead job's id
//   conveyor_paused .......... queues that are paused (pg-boss has no pause)
//   conveyor_rate ............ per-queue start windows of global rate limits (consumer.ts)
//   conveyor_schedule* ....... the scheduler's store and slot locks (stores/schedules.ts)
// Channels: pg-boss's own job-created channel (we LISTEN on it ourselves) and `conveyor_<hash>` for
// cancel / pause / resume messages between processes.
import { createHash } from 'node:crypto';
import pg from 'pg';
import { PgBoss } from 'pg-boss';
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
  JobView,
  QueueInfo,
} from '../../engine.ts';
import type { JobFilter, JobPage, JobQuery } from '../../search.ts';
import type { JobActions } from '../../stores.ts';
import { dlqName } from '../shared.ts';
import { PgbossConsumer } from './consumer.ts';
import type { JobRow, PgbossContext, Query } from './context.ts';
import * as control from './control.ts';
import * as deadLetters from './dead-letters.ts';
import * as enqueue from './enqueue.ts';
import { eventSender } from './events.ts';
import { toUuid } from './ids.ts';
import { Listener } from './listener.ts';
import * as reads from './reads.ts';
import { trimByCount } from './retention.ts';
import { countJobs, pgbossJobActions, searchJobs } from './search.ts';
import { statements } from './sql.ts';
import { startStallSweep, sweepStalled } from './stalls.ts';

export { dlqName, META_KEY } from '../shared.ts';
export { asBossDb } from './context.ts';

export interface PgbossEngineOptions {
  databaseUrl: string;
  /** Postgres schema for pg-boss's tables and ours; letters, digits and _ */
  schema: string;
  logger: Logger;
  /** the queues to search when a job is looked up by id alone (the catalog's queues) */
  queues: readonly string[];
  worker?: {
    /** a running job's heartbeat; a job whose worker went silent this long is retried (pg-boss min 10) */
    heartbeatSeconds?: number;
    /** how often pg-boss's supervisor looks for silent or expired jobs */
    superviseIntervalSeconds?: number;
    /** a job that stalls (its worker died mid-run) more often than this is dead-lettered; default 2 */
    maxStalledCount?: number;
    /** backstop poll when no NOTIFY arrives (delayed jobs coming due, other processes' retries) */
    pollIntervalMs?: number;
    /** waiting this long raises a job's priority by one (toward 1); 0 or absent: no aging */
    priorityAgingMs?: number;
  };
  /** connections in each of the two pools (pg-boss's and ours) */
  maxConnections?: number;
  /** keep at most this many completed / failed jobs per queue (idempotent ones are exempt); trimmed every minute by consumers */
  retentionCounts?: { completed?: number; failed?: number };
  /** dead letters (ours and pg-boss's own copies) are kept this long; default 30 days */
  deadLetterRetentionSeconds?: number;
  /** install/migrate the schema on first use (the release step does it explicitly) */
  migrate?: boolean;
  /** IDEMPOTENCY_TTL_SECONDS: a job with an idempotency key is kept at least this long (enqueue.ts) */
  idempotencyTtlSeconds?: number;
  /**
   * the shortest retention of finished jobs (RETENTION_COMPLETED_SECONDS / RETENTION_FAILED_SECONDS): pg-boss
   * deletes a queue's due rows once per maintenance interval (its default: a day, so a 5-minute retention kept
   * jobs up to a day). The interval is a quarter of this, at least the supervise interval, at most an hour.
   */
  retentionSeconds?: number;
}

/** pg-boss's maintenance interval (deletion of finished jobs past their retention): see retentionSeconds */
export function maintenanceSeconds(retentionSeconds: number | undefined, superviseSeconds: number): number {
  const hour = 3600;
  return Math.min(hour, Math.max(superviseSeconds, Math.floor((retentionSeconds ?? 4 * hour) / 4)));
}

const channel = (prefix: string, schema: string) => `${prefix}_${createHash('sha224').update(schema).digest('hex').slice(0, 24)}`;

export class PgbossEngine implements Engine {
  readonly kind = 'pgboss' as const;
  /** rateLimit: counted across every worker process in conveyor_rate (consumer.ts) */
  readonly capabilities = { priority: true, delay: true, cancelActive: true, pause: true, rateLimit: true, progress: true };

  readonly schema: string;
  readonly boss: PgBoss;
  readonly pool: pg.Pool;
  private readonly log: Logger;
  private readonly ctx: PgbossContext;
  private readonly listener: Listener;
  private ready: Promise<void> | undefined;
  private readonly consumers = new Set<PgbossConsumer>();
  private stopSweep: (() => void) | undefined;

  constructor(private readonly opts: PgbossEngineOptions) {
    if (!/^[a-z_][a-z0-9_]{0,49}$/.test(opts.schema))
      throw new Error(`pg-boss schema "${opts.schema}": expects lowercase letters, digits, _`);
    this.schema = opts.schema;
    this.log = opts.logger.child({ engine: 'pgboss' });
    const max = opts.maxConnections ?? 10;
    const superviseSeconds = opts.worker?.superviseIntervalSeconds ?? 10;
    const heartbeatSeconds = Math.max(10, Math.round(opts.worker?.heartbeatSeconds ?? 30));
    this.boss = new PgBoss({
      connectionString: opts.databaseUrl,
      schema: this.schema,
      max,
      application_name: 'conveyor-pgboss',
      migrate: opts.migrate ?? true,
      createSchema: opts.migrate ?? true,
      schedule: false,
      superviseIntervalSeconds: superviseSeconds,
      // the monitor pass is what fails silent (heartbeat) and expired jobs, so it runs as often as supervision
      monitorIntervalSeconds: superviseSeconds,
      maintenanceIntervalSeconds: maintenanceSeconds(opts.retentionSeconds, superviseSeconds),
      useListenNotify: false, // we LISTEN ourselves (one connection for jobs, cancels and pauses)
    });
    this.boss.on('error', (err) => this.log.warn({ err: err.message }, 'pg-boss error'));
    this.pool = new pg.Pool({ connectionString: opts.databaseUrl, max, application_name: 'conveyor-pgboss' });
    this.pool.on('error', (err) => this.log.warn({ err: err.message }, 'postgres pool error'));
    const sql = statements(this.schema);
    const eventsChannel = channel('conveyor_ev', this.schema);
    this.ctx = {
      schema: this.schema,
      pool: this.pool,
      boss: this.boss,
      log: this.log,
      sql,
      q: (text, values) => this.pool.query(text, values),
      queues: opts.queues,
      heartbeatSeconds,
      // our sweep (every supervise interval, after `heartbeatSeconds`) always comes first
      bossHeartbeatSeconds: 2 * (heartbeatSeconds + superviseSeconds),
      pollIntervalMs: opts.worker?.pollIntervalMs ?? 2_000,
      priorityAgingMs: opts.worker?.priorityAgingMs ?? 0,
      deadLetterRetentionSeconds: opts.deadLetterRetentionSeconds ?? 30 * 86_400,
      idempotencyTtlSeconds: opts.idempotencyTtlSeconds ?? 0,
      controlChannel: channel('conveyor', this.schema),
      emitEvents: eventSender(() => this.ctx, eventsChannel),
      start: () => this.start(),
    };
    this.listener = new Listener({
      databaseUrl: opts.databaseUrl,
      bossChannel: channel('pgboss', this.schema),
      controlChannel: this.ctx.controlChannel,
      eventsChannel,
      log: this.log,
      readPaused: async () => (await this.ctx.q(sql['paused-queues'])).rows.map((r: { queue: string }) => r.queue),
    });
  }

  /** Start pg-boss, install or migrate the schema, create the queues. Idempotent; every method awaits it. */
  start(): Promise<void> {
    this.ready ??= this.init().catch((err) => {
      this.ready = undefined;
      throw err;
    });
    return this.ready;
  }

  /** The release step: same as start(), named for what it does. */
  async migrate(): Promise<void> {
    await this.start();
  }

  private async init() {
    await this.boss.start();
    if (this.opts.migrate ?? true) await this.install();
    await this.listener.refreshPaused();
    this.listener.startPausedRefresh();
    this.stopSweep ??= startStallSweep(
      this.ctx,
      this.opts.worker?.maxStalledCount ?? 2,
      (this.opts.worker?.superviseIntervalSeconds ?? 10) * 1000,
      () => this.heldHere(),
    );
  }

  /** the jobs this process's consumers run or hold fetched ahead (its own sweep leaves them alone) */
  private heldHere(): string[] {
    return [...this.consumers].flatMap((c) => c.heldIds());
  }

  /** Our tables, and a queue plus its dead-letter queue per catalog queue. */
  private async install() {
    // Processes starting together on a fresh schema would race on CREATE TABLE IF NOT EXISTS (a duplicate
    // key in pg_type) and on createQueue: one install at a time, under a session lock on its own client.
    const client = await this.pool.connect();
    const onError = () => {}; // a connection dying mid-install fails the query below; unheard, it would end the process
    client.on('error', onError);
    try {
      await client.query(this.ctx.sql['install-lock']);
      await this.installLocked((text) => client.query(text));
    } finally {
      // a client whose unlock failed is dropped, not pooled: closing its session frees the lock
      const unlocked = await client.query(this.ctx.sql['install-unlock']).then(
        () => true,
        () => false,
      );
      client.off('error', onError);
      client.release(!unlocked);
    }
  }

  private async installLocked(q: (text: string) => Promise<unknown>) {
    const { sql } = this.ctx;
    for (const table of [
      'create-paused-table',
      'create-rate-table',
      'create-schedule-table',
      'create-schedule-state-table',
      'create-schedule-lock-table',
    ] as const) {
      await q(sql[table]);
    }
    for (const step of [
      'create-search-doc-function',
      'create-search-index-time',
      'create-search-index-data',
      'drop-search-index-envelope',
    ] as const) {
      // two processes creating it at once: the loser sees a unique violation on the catalog
      await q(sql[step]).catch((err: { code?: string }) => {
        if (!['23505', '42P07'].includes(err.code ?? '')) throw err;
      });
    }
    const existing = new Map((await this.boss.getQueues()).map((queue) => [queue.name, queue]));
    // pg-boss's own copies (deaths by heartbeat or expiry) take the dead-letter queue's retention
    const keep = this.ctx.deadLetterRetentionSeconds;
    for (const queue of this.opts.queues) {
      const dlq = existing.get(dlqName(queue));
      if (!dlq) await this.boss.createQueue(dlqName(queue), { policy: 'standard', retentionSeconds: keep });
      else if (dlq.retentionSeconds !== keep) await this.boss.updateQueue(dlqName(queue), { retentionSeconds: keep });
      if (!existing.has(queue)) {
        await this.boss.createQueue(queue, {
          policy: 'standard',
          notify: true,
          retentionSeconds: enqueue.KEEP_WAITING_SECONDS, // plain sends too: a waiting job is kept until it runs
          deadLetter: dlqName(queue), // pg-boss copies jobs here when they die by heartbeat/expiry, not through us
          heartbeatSeconds: this.ctx.bossHeartbeatSeconds,
        });
      }
    }
  }

  // ── enqueue ─────────────────────────────────────────────────────────────────────────────────

  enqueue(req: EnqueueRequest): Promise<EnqueueResult> {
    return enqueue.enqueueWith(this.ctx, req, undefined);
  }

  /**
   * Enqueue through `client` (a client inside the caller's open transaction) when given: the job exists
   * only if that transaction commits, and workers are woken at commit (NOTIFY is transactional).
   */
  enqueueWith(req: EnqueueRequest, client: pg.ClientBase | undefined): Promise<EnqueueResult> {
    return enqueue.enqueueWith(this.ctx, req, client);
  }

  enqueueMany(reqs: EnqueueRequest[]): Promise<EnqueueResult[]> {
    return enqueue.enqueueMany(this.ctx, reqs);
  }

  // ── read ────────────────────────────────────────────────────────────────────────────────────

  /** `query` reads through another connection (a client inside the caller's transaction). */
  replaceDelayed(req: EnqueueRequest): Promise<JobView | null> {
    return enqueue.replaceDelayed(this.ctx, req);
  }

  getJob(id: string, queues?: string[], query?: Query): Promise<JobView | null> {
    return reads.getJob(this.ctx, id, queues, query);
  }

  async getJobs(ids: readonly string[]): Promise<(JobView | null)[]> {
    const uuids = ids.map(toUuid);
    const found = await reads.getJobsByUuid(this.ctx, [...new Set(uuids)], [...this.ctx.queues]);
    return uuids.map((u) => found.get(u) ?? null);
  }

  /** Jobs of one queue in one state, newest first (the dashboard adapter). */
  listJobs(queue: string, states: JobRow['state'][], start: number, end: number, future?: boolean): Promise<JobView[]> {
    return reads.listJobs(this.ctx, queue, states, start, end, future);
  }

  queueInfo(names: string[]): Promise<QueueInfo[]> {
    return reads.queueInfo(this.ctx, names);
  }

  /** Job search (./search.ts; docs/job-search.md) */
  search(query: JobQuery): Promise<JobPage> {
    return searchJobs(this.ctx, query);
  }

  countJobs(filter: JobFilter): Promise<number> {
    return countJobs(this.ctx, filter);
  }

  /** retry, remove, promote one job (the bulk actions) */
  jobActions(): JobActions {
    return pgbossJobActions(this.ctx);
  }

  // ── control ─────────────────────────────────────────────────────────────────────────────────

  cancel(id: string): Promise<CancelOutcome> {
    return control.cancel(this.ctx, id);
  }

  pauseQueue(queue: string): Promise<void> {
    return control.pauseQueue(this.ctx, this.listener, queue);
  }

  resumeQueue(queue: string): Promise<void> {
    return control.resumeQueue(this.ctx, this.listener, queue);
  }

  // ── consume ─────────────────────────────────────────────────────────────────────────────────

  consume(queue: string, opts: ConsumeOptions): Consumer {
    const consumer = new PgbossConsumer(queue, opts, {
      ctx: this.ctx,
      listener: this.listener,
      trim: (q) => this.trimByCount(q),
      onClosed: (c) => this.consumers.delete(c),
    });
    this.consumers.add(consumer);
    return consumer;
  }

  /** Retention by count: drop the oldest completed / failed jobs of `queue` beyond the configured counts. */
  trimByCount(queue: string): Promise<void> {
    return trimByCount(this.ctx, queue, this.opts.retentionCounts ?? {});
  }

  /** One stall sweep now (it also runs on a timer in every process): jobs of dead workers put back. */
  async sweepStalled(): Promise<{ recovered: number; dead: number }> {
    await this.start();
    return sweepStalled(this.ctx, this.opts.worker?.maxStalledCount ?? 2, () => this.heldHere());
  }

  // ── dead letters ────────────────────────────────────────────────────────────────────────────

  listDeadLetters(queues: string[], limit: number): Promise<DeadLetter[]> {
    return deadLetters.listDeadLetters(this.ctx, queues, limit);
  }

  replayDeadLetter(id: string, queues: string[]): Promise<JobView | null> {
    return deadLetters.replayDeadLetter(this.ctx, id, queues);
  }

  /** pg-boss's job-created channel (payload: the queue); the group store NOTIFYs it for released jobs */
  get bossChannel(): string {
    return channel('pgboss', this.schema);
  }

  /** Wake this process's consumers of `queue` after `ms` (a job made due later than now, e.g. a group's rate slot). */
  wakeAfter(queue: string, ms: number): void {
    setTimeout(() => this.listener.wake(queue), ms).unref();
  }

  /** Row ids are UUIDs: a watch on any id is a watch on its row's uuid. */
  watchJob(id: string, fn: (e: JobEvent) => void): Promise<() => void> {
    return this.listener.watch(toUuid(id), fn);
  }

  async ping() {
    await this.pool.query(this.ctx.sql.ping);
  }

  async close() {
    this.stopSweep?.();
    await this.listener.close();
    await Promise.all([...this.consumers].map((c) => c.close(0).catch(() => {})));
    if (this.ready) await this.boss.stop({ graceful: false, close: true }).catch(() => {});
    await this.pool.end().catch(() => {});
  }
}
