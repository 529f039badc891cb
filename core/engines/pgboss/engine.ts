// The Postgres engine on pg-boss 12. pg-boss stores the jobs (its `job` table, partitioned by queue)
// and hands them out (`fetch`, SKIP LOCKED, priority order); this file adds what the engine seam asks
// for and pg-boss leaves out: our exact retry delays, dead letters with error + attempt history,
// cancel of running jobs, pause/resume, and millisecond pickup. See docs/engines.md.
//
// Layout inside the schema (one schema per deployment, named after QUEUE_PREFIX):
//   pg-boss tables ........... job, queue, version, ... (pg-boss owns and migrates them)
//   queue `<q>` .............. one per catalog queue, policy standard, notify on
//   queue `<q>-dlq` .......... dead letters of `<q>`; nobody consumes it; rows keep the dead job's id
//   conveyor_paused .......... queues that are paused (pg-boss has no pause)
//   conveyor_schedule* ....... the scheduler's store and slot locks (core/pgboss/schedule-store.ts)
// Channels: pg-boss's own job-created channel (we LISTEN on it ourselves) and `conveyor_<hash>` for
// cancel / pause / resume messages between processes.
import { createHash, randomUUID } from 'node:crypto';
import pg from 'pg';
import { type Db as BossDb, type Job as BossJob, PgBoss, type SendOptions } from 'pg-boss';
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
  FailedOutcome,
  JobMeta,
  JobState,
  JobView,
  QueueInfo,
} from '../../engine.ts';
import {
  closeWithin,
  deadLetterOf,
  dlqName,
  enqueueInBulk,
  errorJson,
  joinEnvelope,
  META_KEY,
  PendingCancels,
  splitEnvelope,
} from '../shared.ts';
import { idempotencyUuid, toUuid } from './ids.ts';

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
    /** backstop poll when no NOTIFY arrives (delayed jobs coming due, other processes' retries) */
    pollIntervalMs?: number;
  };
  /** connections in each of the two pools (pg-boss's and ours) */
  maxConnections?: number;
  /** keep at most this many completed / failed jobs per queue (idempotent ones are exempt); trimmed every minute by consumers */
  retentionCounts?: { completed?: number; failed?: number };
  /** install/migrate the schema on first use (the release step does it explicitly) */
  migrate?: boolean;
}

const LETTER_KEY = '$deadLetter';

export { dlqName, META_KEY } from '../shared.ts';

/** What we keep beside the payload: the seam's JobMeta plus what pg-boss has no column for. */
interface StoredMeta extends JobMeta {
  kind: string;
  /** the caller's id when it was not a UUID (deterministic ids) */
  id?: string;
  maxAttempts: number;
  retention?: { completedSeconds: number; failedSeconds: number };
}

/** `output` of a job row while it is not completed. */
interface Output {
  progress?: unknown;
  error?: { message: string; name?: string; stack?: string };
  attempts?: AttemptRecord[];
  log?: string[];
  result?: unknown;
}

interface StoredLetter extends DeadLetter {
  [LETTER_KEY]: true;
  raw: Record<string, unknown>;
  send: SendOptions;
}

interface JobRow {
  id: string;
  name: string;
  priority: number;
  data: Record<string, unknown> | null;
  state: 'created' | 'retry' | 'active' | 'completed' | 'cancelled' | 'failed';
  retry_limit: number;
  retry_count: number;
  start_after: Date;
  created_on: Date;
  started_on: Date | null;
  completed_on: Date | null;
  output: Output | null;
  future: boolean;
  dead: boolean;
}

/** pg-boss runs higher numbers first; we run 1 (most urgent) … 10 first to last. */
const toBossPriority = (p: number) => (p >= 1 && p <= 10 ? 11 - p : 0);
const fromBossPriority = (p: number) => (p >= 1 && p <= 10 ? 11 - p : p);
const MAX_EXPIRE_SECONDS = 24 * 3600;
const LOG_LINES = 200;
/** runs faster than this on average make a consumer fetch ahead of its free slots, up to MAX_PREFETCH */
const FAST_RUN_MS = 20;
const MAX_PREFETCH = 500;

const splitData = (data: unknown) => splitEnvelope<StoredMeta>(data, () => ({ kind: 'unknown', maxAttempts: 1 }));

/** A pg client (or pool) as pg-boss's `db` option. */
export const asBossDb = (client: pg.ClientBase | pg.Pool): BossDb => ({
  executeSql: (text, values) => client.query(text, values as unknown[]),
});

type Query = (text: string, values?: unknown[]) => Promise<{ rows: any[] }>;

export class PgbossEngine implements Engine {
  readonly kind = 'pgboss' as const;
  /** rateLimit: limits hold per worker process, not across processes (see docs/engines.md) */
  readonly capabilities = { priority: true, delay: true, cancelActive: true, pause: true, rateLimit: false, progress: true };

  readonly schema: string;
  readonly boss: PgBoss;
  readonly pool: pg.Pool;
  private readonly log: Logger;
  private ready: Promise<void> | undefined;
  private listener: pg.Client | undefined;
  private listenerRetry: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly bossChannel: string;
  private readonly controlChannel: string;
  /** queue → wake functions of this process's consumers */
  private readonly wakers = new Map<string, Set<() => void>>();
  /** job uuid → abort of a run in this process */
  private readonly running = new Map<string, AbortController>();
  private readonly pendingCancels = new PendingCancels();
  private paused = new Set<string>();
  private pausedRefresh: NodeJS.Timeout | undefined;
  private readonly consumers = new Set<{ close(graceMs: number): Promise<{ abandoned: number }> }>();
  private readonly heartbeatSeconds: number;
  private readonly pollIntervalMs: number;

  constructor(private readonly opts: PgbossEngineOptions) {
    if (!/^[a-z_][a-z0-9_]{0,49}$/.test(opts.schema))
      throw new Error(`pg-boss schema "${opts.schema}": expects lowercase letters, digits, _`);
    this.schema = opts.schema;
    this.log = opts.logger.child({ engine: 'pgboss' });
    this.heartbeatSeconds = Math.max(10, Math.round(opts.worker?.heartbeatSeconds ?? 30));
    this.pollIntervalMs = opts.worker?.pollIntervalMs ?? 2_000;
    this.bossChannel = `pgboss_${createHash('sha224').update(this.schema).digest('hex').slice(0, 24)}`;
    this.controlChannel = `conveyor_${createHash('sha224').update(this.schema).digest('hex').slice(0, 24)}`;
    const max = opts.maxConnections ?? 10;
    this.boss = new PgBoss({
      connectionString: opts.databaseUrl,
      schema: this.schema,
      max,
      application_name: 'conveyor-pgboss',
      migrate: opts.migrate ?? true,
      createSchema: opts.migrate ?? true,
      schedule: false,
      superviseIntervalSeconds: opts.worker?.superviseIntervalSeconds ?? 10,
      // the monitor pass is what fails silent (heartbeat) and expired jobs, so it runs as often as supervision
      monitorIntervalSeconds: opts.worker?.superviseIntervalSeconds ?? 10,
      useListenNotify: false, // we LISTEN ourselves (one connection for jobs, cancels and pauses)
    });
    this.boss.on('error', (err) => this.log.warn({ err: err.message }, 'pg-boss error'));
    this.pool = new pg.Pool({ connectionString: opts.databaseUrl, max, application_name: 'conveyor-pgboss' });
    this.pool.on('error', (err) => this.log.warn({ err: err.message }, 'postgres pool error'));
  }

  private get t() {
    return `${this.schema}.job`;
  }

  private q: Query = (text, values) => this.pool.query(text, values);

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
    if (this.opts.migrate ?? true) {
      await this.q(
        `CREATE TABLE IF NOT EXISTS ${this.schema}.conveyor_paused (queue text PRIMARY KEY, paused_at timestamptz NOT NULL DEFAULT now());
         CREATE TABLE IF NOT EXISTS ${this.schema}.conveyor_schedule (name text PRIMARY KEY, definition jsonb NOT NULL);
         CREATE TABLE IF NOT EXISTS ${this.schema}.conveyor_schedule_state (name text PRIMARY KEY, last_slot_ms bigint, last_job_id text);
         CREATE TABLE IF NOT EXISTS ${this.schema}.conveyor_schedule_lock (key text PRIMARY KEY, expires_at timestamptz NOT NULL)`,
      );
      const existing = new Set((await this.boss.getQueues()).map((q) => q.name));
      for (const queue of this.opts.queues) {
        if (!existing.has(dlqName(queue))) await this.boss.createQueue(dlqName(queue), { policy: 'standard' });
        if (!existing.has(queue)) {
          await this.boss.createQueue(queue, {
            policy: 'standard',
            notify: true,
            deadLetter: dlqName(queue), // pg-boss copies jobs here when they die by heartbeat/expiry, not through us
            heartbeatSeconds: this.heartbeatSeconds,
          });
        }
      }
    }
    await this.refreshPaused();
    // pauses reach running workers by NOTIFY at once; this re-read covers a lost LISTEN connection
    this.pausedRefresh = setInterval(() => void this.refreshPaused().catch(() => {}), 5_000);
    this.pausedRefresh.unref();
  }

  // ── enqueue ─────────────────────────────────────────────────────────────────────────────────

  private sendOptions(req: EnqueueRequest, id: string): SendOptions {
    return {
      id,
      priority: toBossPriority(req.priority),
      startAfter: req.delayMs > 0 ? new Date(Date.now() + req.delayMs) : undefined,
      retryLimit: Math.max(0, req.attempts - 1),
      retryDelay: 0,
      // our runtime enforces the timeout; expiry is only the backstop for a run nobody settles
      expireInSeconds: Math.min(MAX_EXPIRE_SECONDS, Math.ceil(req.timeoutMs / 1000) + 60),
      deleteAfterSeconds: Math.max(1, req.retention.completedSeconds),
      heartbeatSeconds: this.heartbeatSeconds,
    };
  }

  private idsFor(req: EnqueueRequest): { id: string; external?: string } {
    if (req.idempotencyKey !== undefined) return { id: idempotencyUuid(req.name, req.idempotencyKey) };
    if (req.jobId !== undefined) {
      const id = toUuid(req.jobId);
      return { id, external: id === req.jobId.toLowerCase() ? undefined : req.jobId };
    }
    return { id: randomUUID() };
  }

  private envelope(req: EnqueueRequest, external?: string): Record<string, unknown> {
    // idempotent jobs are never trimmed by count: a repeated key must find its job for the whole TTL
    const retention =
      req.idempotencyKey === undefined
        ? req.retention
        : { completedSeconds: req.retention.completedSeconds, failedSeconds: req.retention.failedSeconds };
    const meta: StoredMeta = { ...req.meta, timeoutMs: req.timeoutMs, kind: req.name, maxAttempts: req.attempts, retention };
    if (external !== undefined) meta.id = external;
    return joinEnvelope(req.data, meta);
  }

  private freshView(req: EnqueueRequest, id: string, external?: string): JobView {
    const now = Date.now();
    return {
      id: external ?? id,
      name: req.name,
      queue: req.queue,
      state: req.delayMs > 0 ? 'delayed' : 'waiting',
      priority: req.priority,
      data: req.data,
      attempts: { made: 0, max: req.attempts },
      progress: null,
      result: null,
      error: null,
      createdAt: new Date(now).toISOString(),
      startedAt: null,
      finishedAt: null,
      runAt: req.delayMs > 0 ? new Date(now + req.delayMs).toISOString() : null,
    };
  }

  async enqueue(req: EnqueueRequest): Promise<EnqueueResult> {
    return this.enqueueWith(req, undefined);
  }

  /**
   * Enqueue through `db` (a client inside the caller's open transaction) when given: the job exists
   * only if that transaction commits, and workers are woken at commit (NOTIFY is transactional).
   */
  async enqueueWith(req: EnqueueRequest, client: pg.ClientBase | undefined): Promise<EnqueueResult> {
    await this.start();
    const { id, external } = this.idsFor(req);
    const created = await this.boss.send(req.queue, this.envelope(req, external), {
      ...this.sendOptions(req, id),
      ...(client ? { db: asBossDb(client) } : {}),
    });
    if (created === null) {
      // the (queue, id) primary key already holds this job: a repeated idempotency key or job id
      const existing = await this.getJob(external ?? id, [req.queue], client ? (t, v) => client.query(t, v) : undefined);
      if (existing) return { job: existing, created: false };
      throw new Error(`job ${external ?? id} was neither created nor found`);
    }
    return { job: this.freshView(req, id, external), created: true };
  }

  async enqueueMany(reqs: EnqueueRequest[]): Promise<EnqueueResult[]> {
    await this.start();
    return enqueueInBulk(
      reqs,
      async (queue, plain) => {
        const ids = plain.map(() => randomUUID());
        await this.boss.insert(
          queue,
          plain.map((r, k) => ({ ...this.sendOptions(r, ids[k] as string), data: this.envelope(r) })),
          { returnId: false },
        );
        return plain.map((r, k) => ({ job: this.freshView(r, ids[k] as string), created: true }));
      },
      (req) => this.enqueue(req),
    );
  }

  // ── read ────────────────────────────────────────────────────────────────────────────────────

  private selectJob(where: string) {
    return `SELECT j.id, j.name, j.priority, j.data, j.state, j.retry_limit, j.retry_count, j.start_after, j.created_on,
        j.started_on, j.completed_on, j.output, j.start_after > now() AS future,
        (j.state = 'failed' AND EXISTS (SELECT 1 FROM ${this.t} d WHERE d.name = j.name || '-dlq' AND (d.id = j.id OR d.source_id = j.id))) AS dead
      FROM ${this.t} j WHERE ${where}`;
  }

  private viewOf(row: JobRow): JobView {
    const { payload, meta } = splitData(row.data);
    const out = row.output ?? {};
    let state: JobState;
    switch (row.state) {
      case 'created':
      case 'retry':
        state = row.future ? 'delayed' : 'waiting';
        break;
      case 'failed':
        state = row.dead ? 'dead' : 'failed';
        break;
      default:
        state = row.state;
    }
    const pgError =
      out.error ??
      (row.state === 'failed' && typeof (out as { message?: unknown }).message === 'string'
        ? { message: (out as { message: string }).message }
        : null);
    return {
      id: meta.id ?? row.id,
      name: meta.kind,
      queue: row.name,
      state,
      priority: fromBossPriority(row.priority),
      data: payload,
      attempts: { made: row.started_on ? row.retry_count + 1 : 0, max: row.retry_limit + 1 },
      progress: out.progress ?? null,
      result: state === 'completed' ? (out.result ?? null) : null,
      error: state === 'completed' ? null : (pgError ?? null),
      createdAt: row.created_on.toISOString(),
      startedAt: row.started_on?.toISOString() ?? null,
      finishedAt: row.completed_on?.toISOString() ?? null,
      runAt: row.start_after > row.created_on ? row.start_after.toISOString() : null,
    };
  }

  async getJob(id: string, queues?: string[], query?: Query): Promise<JobView | null> {
    await this.start();
    const { rows } = await (query ?? this.q)(this.selectJob('j.name = ANY($1) AND j.id = $2'), [
      queues ?? [...this.opts.queues],
      toUuid(id),
    ]);
    return rows[0] ? this.viewOf(rows[0] as JobRow) : null;
  }

  /** Jobs of one queue in one state, newest first (the dashboard adapter). */
  async listJobs(queue: string, states: JobRow['state'][], start: number, end: number, future?: boolean): Promise<JobView[]> {
    await this.start();
    const futureClause = future === undefined ? '' : future ? 'AND j.start_after > now()' : 'AND j.start_after <= now()';
    const { rows } = await this.q(
      `${this.selectJob(`j.name = $1 AND j.state = ANY($2::${this.schema}.job_state[]) ${futureClause}`)} ORDER BY j.created_on DESC OFFSET $3 LIMIT $4`,
      [queue, states, start, Math.max(0, end - start + 1)],
    );
    return (rows as JobRow[]).map((r) => this.viewOf(r));
  }

  // ── cancel ──────────────────────────────────────────────────────────────────────────────────

  async cancel(id: string): Promise<CancelOutcome> {
    await this.start();
    const uuid = toUuid(id);
    const { rows } = await this.q(
      `WITH prev AS (SELECT name, id, state FROM ${this.t} WHERE name = ANY($1) AND id = $2 FOR UPDATE),
       upd AS (UPDATE ${this.t} j SET state = 'cancelled', completed_on = now()
               FROM prev WHERE j.name = prev.name AND j.id = prev.id AND prev.state < 'completed' RETURNING j.id)
       SELECT prev.state::text AS state, (SELECT count(*) FROM upd)::int AS updated FROM prev`,
      [[...this.opts.queues], uuid],
    );
    const prev = rows[0] as { state: string; updated: number } | undefined;
    if (!prev) return { outcome: 'not_found' };
    const job = (await this.getJob(id)) as JobView;
    if (prev.updated === 0) return { outcome: 'finished', job };
    if (prev.state === 'active') {
      await this.q('SELECT pg_notify($1, $2)', [this.controlChannel, JSON.stringify({ t: 'cancel', id: uuid })]);
      return { outcome: 'cancelling', job };
    }
    return { outcome: 'cancelled', job };
  }

  // ── notifications ───────────────────────────────────────────────────────────────────────────

  private async ensureListener() {
    if (this.listener || this.closed) return;
    const client = new pg.Client({ connectionString: this.opts.databaseUrl, application_name: 'conveyor-pgboss-listen' });
    this.listener = client;
    const retry = (err?: Error) => {
      if (this.listener !== client) return;
      this.listener = undefined;
      client.end().catch(() => {});
      if (this.closed) return;
      this.log.warn({ err: err?.message }, 'LISTEN connection lost; polling until it is back');
      this.listenerRetry = setTimeout(() => void this.ensureListener().catch(() => {}), 1_000);
      this.listenerRetry.unref();
    };
    client.on('error', retry);
    client.on('end', () => retry());
    client.on('notification', (msg) => {
      if (msg.channel === this.bossChannel) this.wake(msg.payload ?? '');
      else if (msg.channel === this.controlChannel && msg.payload) this.onControl(msg.payload);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${this.bossChannel}; LISTEN ${this.controlChannel}`);
      // anything sent while we were not listening: fetch once, re-read pauses
      await this.refreshPaused();
      for (const q of this.wakers.keys()) this.wake(q);
    } catch (err) {
      retry(err as Error);
    }
  }

  private onControl(payload: string) {
    const msg = JSON.parse(payload) as { t: 'cancel'; id: string } | { t: 'pause' | 'resume'; queue: string };
    if (msg.t === 'cancel') {
      const run = this.running.get(msg.id);
      if (run) run.abort('cancelled by request');
      else this.pendingCancels.add(msg.id);
    } else {
      if (msg.t === 'pause') this.paused.add(msg.queue);
      else this.paused.delete(msg.queue);
      this.wake(msg.queue);
    }
  }

  private wake(queue: string) {
    for (const w of this.wakers.get(queue) ?? []) w();
  }

  private async refreshPaused() {
    const { rows } = await this.q(`SELECT queue FROM ${this.schema}.conveyor_paused`);
    const next = new Set(rows.map((r: { queue: string }) => r.queue));
    const resumed = [...this.paused].filter((q) => !next.has(q));
    this.paused = next;
    for (const q of resumed) this.wake(q);
  }

  // ── consume ─────────────────────────────────────────────────────────────────────────────────

  consume(queue: string, opts: ConsumeOptions): Consumer {
    const running = new Map<string, Promise<void>>();
    const completions: { id: string; output: Output | null }[] = [];
    let flushing: Promise<void> | undefined;
    let stopping = false;
    let dirty = true;
    let wakeNow: (() => void) | undefined;
    const starts: number[] = []; // rate limit window (per process)

    // `wake`: look again (a slot freed). `nudge`: jobs may have arrived (NOTIFY, a retry coming due,
    // resume). After a fetch came back short the queue is drained: no fetch until a nudge or the poll.
    let hint = true;
    const wake = () => {
      dirty = true;
      wakeNow?.();
    };
    const nudge = () => {
      hint = true;
      wake();
    };
    const idle = (ms: number) =>
      dirty || stopping
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            const timer = setTimeout(() => {
              hint = true; // the backstop poll: look whether or not anyone told us
              done();
            }, ms);
            function done() {
              clearTimeout(timer);
              wakeNow = undefined;
              resolve();
            }
            wakeNow = done;
          });
    if (!this.wakers.has(queue)) this.wakers.set(queue, new Set());
    this.wakers.get(queue)?.add(nudge);

    const flush = (): Promise<void> => {
      if (flushing) return flushing;
      flushing = (async () => {
        while (completions.length > 0) {
          const batch = completions.splice(0, completions.length);
          const plain = batch.filter((c) => c.output === null).map((c) => c.id);
          const rich = batch.filter((c) => c.output !== null);
          await Promise.all([
            plain.length ? this.boss.complete(queue, plain) : undefined,
            ...rich.map((c) => this.boss.complete(queue, c.id, c.output as object)),
          ]).catch((err) => this.log.error({ queue, err: (err as Error).message }, 'could not mark jobs completed; they will run again'));
        }
      })().finally(() => {
        flushing = undefined;
      });
      return flushing;
    };

    const heartbeat = setInterval(
      () => {
        if (running.size === 0 && buffer.length === 0) return;
        this.boss
          .touch(queue, [...running.keys(), ...buffer.map((j) => j.id)])
          .catch((err) => this.log.warn({ queue, err: (err as Error).message }, 'heartbeat failed'));
      },
      (this.heartbeatSeconds * 1000) / 3,
    );
    heartbeat.unref();
    const trim = setInterval(() => void this.trimByCount(queue), 60_000);
    trim.unref();

    const runOne = async (job: BossJob<Record<string, unknown>>) => {
      const { payload, meta } = splitData(job.data);
      let progress: unknown;
      let logLines: string[] | undefined;
      const consumed: ConsumedJob = {
        id: meta.id ?? job.id,
        name: meta.kind,
        queue,
        data: payload,
        attempt: job.retryCount + 1,
        maxAttempts: meta.maxAttempts ?? 1,
        meta,
        // one UPDATE of the job row per call (see docs/engines.md: write cost)
        updateProgress: async (p) => {
          progress = p;
          await this.q(
            `UPDATE ${this.t} SET output = COALESCE(output, '{}'::jsonb) || jsonb_build_object('progress', $3::jsonb) WHERE name = $1 AND id = $2 AND state = 'active'`,
            [queue, job.id, JSON.stringify(p)],
          );
        },
        log: async (line) => {
          logLines = [...(logLines ?? []), line].slice(-LOG_LINES);
          await this.q(
            `UPDATE ${this.t} SET output = COALESCE(output, '{}'::jsonb) || jsonb_build_object('log', $3::jsonb) WHERE name = $1 AND id = $2 AND state = 'active'`,
            [queue, job.id, JSON.stringify(logLines)],
          );
        },
      };
      const controller = new AbortController();
      this.running.set(job.id, controller);
      if (this.pendingCancels.take(job.id)) controller.abort('cancelled by request');
      try {
        const outcome = await opts.run(consumed, controller.signal);
        if (outcome.status === 'completed') {
          const { result } = outcome;
          const output = result === null && progress === undefined ? null : { result, progress };
          completions.push({ id: job.id, output: output as Output | null });
          // the slot frees now; completions are written in batches behind it (a lost write means a re-run, never a lost job)
          if (completions.length > Math.max(opts.concurrency * 4, 2 * MAX_PREFETCH)) await flush();
          else void flush();
          return;
        }
        await this.onFailure(queue, job.id, consumed, outcome).catch((e) =>
          this.log.error(
            { jobId: consumed.id, err: (e as Error).message },
            'could not record failure; the job will be retried after its heartbeat lapses',
          ),
        );
        if (outcome.status === 'retry') {
          const t = setTimeout(nudge, outcome.delayMs + 5);
          t.unref();
        }
      } finally {
        this.running.delete(job.id);
      }
    };

    // Jobs fetched ahead of free slots. Only while runs are fast (a few ms): then one fetch of hundreds
    // costs what one of a few costs, and a buffered job waits well under a second. Slow queues fetch
    // exactly their free slots. Buffered jobs are `active` in the table and heartbeated like running ones.
    const buffer: BossJob<Record<string, unknown>>[] = [];
    let avgRunMs = 1_000; // pessimistic until measured
    const prefetchLimit = () => (avgRunMs < FAST_RUN_MS && !opts.rateLimit ? Math.min(MAX_PREFETCH, opts.concurrency * 10) : 0);
    const startOne = (job: BossJob<Record<string, unknown>>) => {
      if (opts.rateLimit) starts.push(Date.now());
      const t0 = performance.now();
      const p = runOne(job).finally(() => {
        avgRunMs = avgRunMs * 0.9 + (performance.now() - t0) * 0.1;
        running.delete(job.id);
        wake();
      });
      running.set(job.id, p);
    };

    const loop = (async () => {
      // the database may be down at boot: keep trying, as after any outage
      for (let delay = 500; !stopping; delay = Math.min(delay * 2, 10_000)) {
        try {
          await this.start();
          break;
        } catch (err) {
          this.log.warn({ queue, err: (err as Error).message, retryInMs: delay }, 'postgres unavailable; consumer waits');
          await idle(delay);
          dirty = false;
        }
      }
      await this.ensureListener().catch(() => {});
      while (!stopping) {
        dirty = false;
        if (this.paused.has(queue) && buffer.length === 0) {
          await idle(this.pollIntervalMs);
          continue;
        }
        let slots = opts.concurrency - running.size;
        if (opts.rateLimit) {
          const now = Date.now();
          while (starts.length && (starts[0] as number) <= now - opts.rateLimit.durationMs) starts.shift();
          slots = Math.min(slots, opts.rateLimit.max - starts.length);
          if (slots <= 0 && running.size < opts.concurrency) {
            await idle(Math.max(5, (starts[0] as number) + opts.rateLimit.durationMs - now));
            continue;
          }
        }
        while (slots > 0 && buffer.length > 0) {
          startOne(buffer.shift() as BossJob<Record<string, unknown>>);
          slots--;
        }
        const hold = Math.max(0, slots) + (this.paused.has(queue) ? 0 : prefetchLimit());
        const want = hold - buffer.length;
        // nothing to take, or the buffer is still well stocked: wait for a run to finish (or a NOTIFY)
        if (want <= 0 || buffer.length >= opts.concurrency || !hint) {
          await idle(this.pollIntervalMs);
          continue;
        }
        hint = false;
        let jobs: BossJob<Record<string, unknown>>[];
        try {
          jobs = await this.boss.fetch<Record<string, unknown>>(queue, { batchSize: want });
        } catch (err) {
          if (stopping) break;
          this.log.warn({ queue, err: (err as Error).message }, 'fetch failed; retrying');
          hint = true;
          await idle(1_000);
          continue;
        }
        buffer.push(...jobs);
        if (jobs.length >= want) hint = true; // a full batch: there is likely more
        if (jobs.length === 0 && buffer.length === 0) await idle(this.pollIntervalMs);
      }
    })().catch((err) => this.log.error({ queue, err: (err as Error).message }, 'consumer stopped'));

    const consumer = {
      queue,
      close: async (graceMs: number) => {
        stopping = true;
        wake();
        this.wakers.get(queue)?.delete(nudge);
        await loop;
        await this.release(
          queue,
          buffer.splice(0).map((j) => j.id),
        );
        const closed = await closeWithin(graceMs, Promise.all(running.values()), () => running.size);
        clearInterval(heartbeat);
        clearInterval(trim);
        await flush();
        this.consumers.delete(consumer);
        // unfinished runs stay `active` without a heartbeat: pg-boss's supervisor retries them
        return closed;
      },
    };
    this.consumers.add(consumer);
    return consumer;
  }

  /** Retention by count: drop the oldest completed / failed jobs of `queue` beyond the configured counts. */
  async trimByCount(queue: string) {
    const counts = this.opts.retentionCounts ?? {};
    for (const [state, keep, key] of [
      ['completed', counts.completed, 'completedCount'],
      ['failed', counts.failed, 'failedCount'],
    ] as const) {
      if (keep === undefined) continue;
      await this.q(
        `DELETE FROM ${this.t} j USING (
           SELECT id FROM ${this.t} WHERE name = $1 AND state = '${state}' AND data->'${META_KEY}'->'retention' ? '${key}'
           ORDER BY completed_on DESC OFFSET $2) old
         WHERE j.name = $1 AND j.id = old.id`,
        [queue, keep],
      ).catch((err) => this.log.warn({ queue, err: (err as Error).message }, 'retention trim failed'));
    }
  }

  /** Give fetched-but-never-started jobs back, as if they had not been fetched (attempt count restored). */
  private async release(queue: string, ids: string[]) {
    if (ids.length === 0) return;
    await this.q(
      `UPDATE ${this.t} SET state = 'retry', start_after = now(), heartbeat_on = NULL,
         started_on = CASE WHEN retry_count = 0 THEN NULL ELSE started_on END, retry_count = GREATEST(retry_count - 1, 0)
       WHERE name = $1 AND id = ANY($2::uuid[]) AND state = 'active'`,
      [queue, ids],
    ).catch((err) =>
      this.log.warn(
        { queue, err: (err as Error).message },
        'could not release prefetched jobs; they are retried after their heartbeat lapses',
      ),
    );
  }

  /** Persist the executor's outcome of a failed run (only if the row is still ours: `active`). */
  private async onFailure(queue: string, uuid: string, consumed: ConsumedJob, outcome: FailedOutcome) {
    const record = outcome.attempt;
    const err = JSON.stringify(errorJson(outcome.error));
    if (outcome.status === 'cancelled') {
      await this.q(
        `UPDATE ${this.t} SET state = 'cancelled', completed_on = now(), output = COALESCE(output, '{}'::jsonb) || jsonb_build_object('error', $3::jsonb)
         WHERE name = $1 AND id = $2 AND state = 'active'`,
        [queue, uuid, err],
      );
      return;
    }
    if (outcome.status === 'retry') {
      await this.q(
        `UPDATE ${this.t} SET state = 'retry', start_after = now() + $3 * interval '1 millisecond', heartbeat_on = NULL,
           output = COALESCE(output, '{}'::jsonb) || jsonb_build_object('error', $4::jsonb,
             'attempts', COALESCE(output->'attempts', '[]'::jsonb) || $5::jsonb)
         WHERE name = $1 AND id = $2 AND state = 'active'`,
        [queue, uuid, Math.max(0, Math.round(outcome.delayMs)), err, JSON.stringify([record])],
      );
      return;
    }
    const reason = outcome.reason;
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const { rows } = await client.query(
        `UPDATE ${this.t} SET state = 'failed', completed_on = now(), heartbeat_on = NULL,
           output = COALESCE(output, '{}'::jsonb) || jsonb_build_object('error', $3::jsonb,
             'attempts', COALESCE(output->'attempts', '[]'::jsonb) || $4::jsonb)
         WHERE name = $1 AND id = $2 AND state = 'active'
         RETURNING data, priority, retry_limit, expire_seconds, deletion_seconds, output->'attempts' AS attempts`,
        [queue, uuid, err, JSON.stringify([record])],
      );
      const row = rows[0] as
        | {
            data: Record<string, unknown>;
            priority: number;
            retry_limit: number;
            expire_seconds: number;
            deletion_seconds: number;
            attempts: AttemptRecord[];
          }
        | undefined;
      if (!row) {
        await client.query('ROLLBACK');
        return;
      }
      const { payload, meta } = splitData(row.data);
      const letter: StoredLetter = {
        [LETTER_KEY]: true,
        ...deadLetterOf({ id: consumed.id, name: consumed.name, queue, payload }, reason, outcome.error, row.attempts),
        raw: row.data,
        send: {
          priority: row.priority,
          retryLimit: row.retry_limit,
          retryDelay: 0,
          expireInSeconds: row.expire_seconds,
          deleteAfterSeconds: row.deletion_seconds,
          heartbeatSeconds: this.heartbeatSeconds,
        },
      };
      await this.boss.send(dlqName(queue), letter as unknown as object, {
        id: uuid,
        retentionSeconds: Math.max(1, meta.retention?.failedSeconds ?? 604_800),
        db: asBossDb(client),
      });
      await client.query('COMMIT');
      this.log.warn({ jobId: consumed.id, kind: consumed.name, queue, reason }, 'job dead-lettered');
    } catch (e) {
      await client.query('ROLLBACK').catch(() => {});
      throw e;
    } finally {
      client.release();
    }
  }

  // ── queues ──────────────────────────────────────────────────────────────────────────────────

  async queueInfo(names: string[]): Promise<QueueInfo[]> {
    await this.start();
    const { rows } = await this.q(
      `SELECT q.name,
         count(*) FILTER (WHERE j.state < 'active' AND j.start_after <= now())::int AS waiting,
         count(*) FILTER (WHERE j.state < 'active' AND j.start_after > now())::int AS delayed,
         count(*) FILTER (WHERE j.state = 'active')::int AS active,
         count(*) FILTER (WHERE j.state = 'completed')::int AS completed,
         count(*) FILTER (WHERE j.state = 'failed')::int AS failed,
         COALESCE(extract(epoch FROM now() - min(j.start_after) FILTER (WHERE j.state < 'active' AND j.start_after <= now())), 0)::float8 AS oldest,
         (SELECT count(*) FROM ${this.t} d WHERE d.name = q.name || '-dlq' AND d.state < 'active')::int AS dead,
         EXISTS (SELECT 1 FROM ${this.schema}.conveyor_paused p WHERE p.queue = q.name) AS paused
       FROM unnest($1::text[]) AS q(name) LEFT JOIN ${this.t} j ON j.name = q.name
       GROUP BY q.name`,
      [names],
    );
    const byName = new Map(rows.map((r: { name: string }) => [r.name, r]));
    return names.map((name) => {
      const r = byName.get(name) as Record<string, number | boolean> | undefined;
      const n = (k: string) => Number(r?.[k] ?? 0);
      return {
        name,
        paused: Boolean(r?.paused),
        counts: {
          waiting: n('waiting'),
          delayed: n('delayed'),
          active: n('active'),
          completed: n('completed'),
          failed: n('failed'),
          dead: n('dead'),
        },
        oldestWaitingAgeSeconds: Math.max(0, n('oldest')),
      };
    });
  }

  async pauseQueue(queue: string) {
    await this.start();
    await this.q(`INSERT INTO ${this.schema}.conveyor_paused (queue) VALUES ($1) ON CONFLICT DO NOTHING`, [queue]);
    this.paused.add(queue);
    await this.q('SELECT pg_notify($1, $2)', [this.controlChannel, JSON.stringify({ t: 'pause', queue })]);
  }

  async resumeQueue(queue: string) {
    await this.start();
    await this.q(`DELETE FROM ${this.schema}.conveyor_paused WHERE queue = $1`, [queue]);
    this.paused.delete(queue);
    this.wake(queue);
    await this.q('SELECT pg_notify($1, $2)', [this.controlChannel, JSON.stringify({ t: 'resume', queue })]);
  }

  // ── dead letters ────────────────────────────────────────────────────────────────────────────

  /** A DLQ row as a DeadLetter: ours carry the letter; pg-boss's own copies (heartbeat/expiry deaths) carry the job. */
  private letterOf(row: {
    id: string;
    name: string;
    data: Record<string, unknown>;
    created_on: Date;
    source_id: string | null;
    source_output: Output | null;
  }) {
    if (row.data && LETTER_KEY in row.data) {
      const { [LETTER_KEY]: _l, raw: _r, send: _s, ...letter } = row.data as unknown as StoredLetter;
      return letter as DeadLetter;
    }
    const { payload, meta } = splitData(row.data);
    const out = row.source_output ?? {};
    const message = out.error?.message ?? (out as { message?: string }).message ?? 'worker stopped responding (heartbeat or expiry)';
    return {
      id: meta.id ?? row.source_id ?? row.id,
      name: meta.kind,
      queue: row.name.replace(/-dlq$/, ''),
      data: payload,
      reason: 'stalled: the worker stopped responding on the last attempt',
      error: out.error ?? { message },
      attempts: out.attempts ?? [],
      deadAt: row.created_on.toISOString(),
    } satisfies DeadLetter;
  }

  async listDeadLetters(queues: string[], limit: number): Promise<DeadLetter[]> {
    await this.start();
    const { rows } = await this.q(
      `SELECT id, name, data, created_on, source_id, source_output FROM ${this.t}
       WHERE name = ANY($1) AND state < 'active' ORDER BY created_on DESC LIMIT $2`,
      [queues.map(dlqName), limit],
    );
    return rows.map((r) => this.letterOf(r));
  }

  async replayDeadLetter(id: string, queues: string[]): Promise<JobView | null> {
    await this.start();
    const uuid = toUuid(id);
    const client = await this.pool.connect();
    let queue: string | undefined;
    try {
      await client.query('BEGIN');
      const { rows } = await client.query(
        `DELETE FROM ${this.t} WHERE name = ANY($1) AND state < 'active' AND (id = $2 OR source_id = $2)
         RETURNING id, name, data, source_id`,
        [queues.map(dlqName), uuid],
      );
      const row = rows[0] as { id: string; name: string; data: Record<string, unknown>; source_id: string | null } | undefined;
      if (!row) {
        await client.query('ROLLBACK');
        return null;
      }
      queue = row.name.replace(/-dlq$/, '');
      const ours = LETTER_KEY in row.data;
      const raw = ours ? (row.data as unknown as StoredLetter).raw : row.data;
      const { meta } = splitData(raw);
      const send: SendOptions = ours
        ? (row.data as unknown as StoredLetter).send
        : { retryLimit: Math.max(0, (meta.maxAttempts ?? 1) - 1), retryDelay: 0, heartbeatSeconds: this.heartbeatSeconds };
      // the dead job still sits in the queue as `failed` under this id: remove it so the replay can reuse it
      await client.query(`DELETE FROM ${this.t} WHERE name = $1 AND id = $2`, [queue, uuid]);
      await this.boss.send(queue, raw, { ...send, id: uuid, db: asBossDb(client) });
      await client.query('COMMIT');
    } catch (e) {
      await client.query('ROLLBACK').catch(() => {});
      throw e;
    } finally {
      client.release();
    }
    this.log.info({ jobId: id, queue }, 'dead letter replayed');
    return this.getJob(id, [queue]);
  }

  async ping() {
    await this.pool.query('SELECT 1');
  }

  async close() {
    this.closed = true;
    await Promise.all([...this.consumers].map((c) => c.close(0).catch(() => {})));
    clearTimeout(this.listenerRetry);
    clearInterval(this.pausedRefresh);
    const l = this.listener;
    this.listener = undefined;
    await l?.end().catch(() => {});
    if (this.ready) await this.boss.stop({ graceful: false, close: true }).catch(() => {});
    await this.pool.end().catch(() => {});
  }
}
