// Bull Board on the pgboss engine: one adapter per queue (and per dead-letter queue) so the dashboard
// looks and works the same on both engines: counts, job lists per state, job detail and logs, retry
// (a dead job is replayed under its id), promote, clean, pause/resume. Adding jobs and editing data are
// refused (enqueue through POST /v1/jobs, which validates). Job data goes out as JSON; Bull Board's UI
// renders it as text (React escapes), never as HTML.
import { BaseAdapter } from '@bull-board/api/dist/queueAdapters/base.js';
import type {
  AppJobScheduler,
  JobCleanStatus,
  JobCounts,
  JobSchedulerUpdateResult,
  JobStatus,
  QueueJob,
  QueueJobJson,
  QueueMetrics,
  RedisStats,
  Status,
} from '@bull-board/api/dist/types.js';
import type { BoardSource } from '../../backend.ts';
import type { DeadLetter, JobView } from '../../engine.ts';
import { dlqName, type PgbossEngine } from './engine.ts';
import { toUuid } from './ids.ts';

type BossState = 'created' | 'retry' | 'active' | 'completed' | 'cancelled' | 'failed';

const STATES: Record<string, { states: BossState[]; future?: boolean }> = {
  waiting: { states: ['created', 'retry'], future: false },
  delayed: { states: ['created', 'retry'], future: true },
  active: { states: ['active'] },
  completed: { states: ['completed'] },
  failed: { states: ['failed', 'cancelled'] },
  latest: { states: ['created', 'retry', 'active', 'completed', 'cancelled', 'failed'] },
};

const bullState = (v: JobView) =>
  ({
    waiting: 'waiting',
    delayed: 'delayed',
    active: 'active',
    completed: 'completed',
    failed: 'failed',
    dead: 'failed',
    cancelled: 'failed',
  })[v.state] as 'waiting' | 'delayed' | 'active' | 'completed' | 'failed';

const ms = (iso: string | null) => (iso ? Date.parse(iso) : null);

export class PgbossQueueAdapter extends BaseAdapter {
  private readonly dead: boolean;

  constructor(
    private readonly engine: PgbossEngine,
    private readonly queueName: string,
    options: { readOnlyMode?: boolean; allowRetries?: boolean; description?: string } = {},
  ) {
    super('bullmq', {
      readOnlyMode: options.readOnlyMode ?? false,
      allowRetries: options.allowRetries ?? true,
      description: options.description ?? '',
    });
    this.dead = queueName.endsWith('-dlq');
  }

  getName() {
    return `${this.prefix}${this.queueName}`;
  }

  private get table() {
    return `${this.engine.schema}.job`;
  }

  private sql(text: string, values?: unknown[]) {
    return this.engine.start().then(() => this.engine.pool.query(text, values));
  }

  /** A dead-letter row carries the letter: show the dead job, not the envelope. */
  private toJob(v: JobView): QueueJob {
    const letter =
      this.dead && v.data && typeof v.data === 'object' && '$deadLetter' in v.data ? (v.data as unknown as DeadLetter) : undefined;
    const id = letter?.id ?? v.id;
    const failedReason = letter
      ? `${letter.reason}: ${letter.error.message}`
      : (v.error?.message ?? (v.state === 'cancelled' ? 'cancelled' : ''));
    const json: QueueJobJson = {
      id,
      name: letter?.name ?? v.name,
      data: letter ? letter.data : v.data,
      progress: (v.progress ?? 0) as QueueJobJson['progress'],
      attemptsMade: letter ? letter.attempts.length : v.attempts.made,
      timestamp: Date.parse(v.createdAt),
      processedOn: ms(v.startedAt),
      finishedOn: ms(v.finishedAt),
      delay: v.runAt ? Math.max(0, Date.parse(v.runAt) - Date.parse(v.createdAt)) : 0,
      failedReason,
      stacktrace: letter?.error.stack ? [letter.error.stack] : v.error?.stack ? [v.error.stack] : [],
      returnvalue: v.result,
      priority: v.priority,
      opts: { attempts: v.attempts.max, priority: v.priority, ...(letter ? { attemptHistory: letter.attempts } : {}) },
    };
    const queue = this.queueName;
    const uuid = toUuid(v.id);
    return {
      opts: { delay: json.delay },
      toJSON: () => json,
      getState: async () => bullState(v),
      promote: async () => {
        await this.sql(`UPDATE ${this.table} SET start_after = now() WHERE name = $1 AND id = $2 AND state < 'active'`, [queue, uuid]);
      },
      remove: async () => {
        await this.sql(`DELETE FROM ${this.table} WHERE name = $1 AND id = $2 AND state <> 'active'`, [queue, uuid]);
      },
      retry: async () => {
        if (this.dead) await this.engine.replayDeadLetter(id, [queue.replace(/-dlq$/, '')]);
        else if (v.state === 'dead') await this.engine.replayDeadLetter(id, [queue]);
        else {
          await this.sql(
            `UPDATE ${this.table} SET state = 'retry', start_after = now(), completed_on = NULL WHERE name = $1 AND id = $2 AND state IN ('failed', 'cancelled')`,
            [queue, uuid],
          );
        }
      },
    };
  }

  async clean(status: JobCleanStatus, graceTimeMs: number) {
    const s = STATES[status === 'wait' ? 'waiting' : status];
    if (!s || status === 'active') return; // a running job is its worker's
    const future = s.future === undefined ? '' : s.future ? 'AND start_after > now()' : 'AND start_after <= now()';
    await this.sql(
      `DELETE FROM ${this.table} WHERE name = $1 AND state = ANY($2::${this.engine.schema}.job_state[]) ${future}
       AND COALESCE(completed_on, created_on) < now() - $3 * interval '1 millisecond'`,
      [this.queueName, s.states, graceTimeMs],
    );
  }

  async addJob(): Promise<QueueJob> {
    throw new Error('add jobs through POST /v1/jobs (it validates them against the catalog)');
  }

  async getJob(id: string) {
    const v = await this.engine.getJob(id, [this.queueName]);
    return v ? this.toJob(v) : null;
  }

  async getJobCounts(): Promise<JobCounts> {
    const [[info], cancelled] = await Promise.all([
      this.engine.queueInfo([this.queueName]),
      this.sql(`SELECT count(*)::int AS n FROM ${this.table} WHERE name = $1 AND state = 'cancelled'`, [this.queueName]),
    ]);
    const c = info?.counts;
    return {
      active: c?.active ?? 0,
      waiting: c?.waiting ?? 0,
      delayed: c?.delayed ?? 0,
      completed: c?.completed ?? 0,
      failed: (c?.failed ?? 0) + (cancelled.rows[0]?.n ?? 0), // the failed tab lists cancelled jobs too
      paused: 0,
      prioritized: 0,
      'waiting-children': 0,
    };
  }

  async getJobs(statuses: JobStatus[], start = 0, end = 9): Promise<QueueJob[]> {
    const all = new Set<BossState>();
    let future: boolean | undefined;
    for (const st of statuses) {
      const s = STATES[st];
      if (!s) continue;
      for (const x of s.states) all.add(x);
      future = statuses.length === 1 ? s.future : undefined;
    }
    if (all.size === 0) return [];
    const views = await this.engine.listJobs(this.queueName, [...all], start, end, future);
    return views.map((v) => this.toJob(v));
  }

  async getJobLogs(id: string): Promise<string[]> {
    const { rows } = await this.sql(`SELECT output->'log' AS log FROM ${this.table} WHERE name = $1 AND id = $2`, [
      this.queueName,
      toUuid(id),
    ]);
    return (rows[0]?.log as string[] | null) ?? [];
  }

  async getMetrics(): Promise<QueueMetrics> {
    return { meta: { count: 0, prevTS: 0, prevCount: 0 }, data: [], count: 0 };
  }

  async getRedisInfo() {
    return null;
  }

  override async getDatastoreStats(): Promise<RedisStats | null> {
    const { rows } =
      await this.sql(`SELECT split_part(current_setting('server_version'), ' ', 1) AS version, current_setting('port') AS port,
        extract(epoch from now() - pg_postmaster_start_time())::int AS uptime,
        (SELECT count(*) FROM pg_stat_activity) AS connected, (SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock') AS blocked`);
    const r = rows[0];
    return {
      backend: 'postgres',
      version: String(r.version),
      port: Number(r.port),
      uptime: Number(r.uptime),
      clients: { connected: Number(r.connected), blocked: Number(r.blocked) },
    } as RedisStats;
  }

  async isPaused() {
    const [info] = await this.engine.queueInfo([this.queueName]);
    return info?.paused ?? false;
  }

  async pause() {
    await this.engine.pauseQueue(this.queueName);
  }

  async resume() {
    await this.engine.resumeQueue(this.queueName);
  }

  async empty() {
    await this.sql(`DELETE FROM ${this.table} WHERE name = $1 AND state < 'active'`, [this.queueName]);
  }

  async obliterate() {
    throw new Error('not supported on the pgboss engine: queues are part of the catalog');
  }

  async promoteAll() {
    await this.sql(`UPDATE ${this.table} SET start_after = now() WHERE name = $1 AND state < 'active' AND start_after > now()`, [
      this.queueName,
    ]);
  }

  async removeJobScheduler() {
    return false;
  }

  async getJobSchedulers(): Promise<Omit<AppJobScheduler, 'queueName'>[]> {
    return [];
  }

  async getJobSchedulersCount() {
    return 0;
  }

  async updateJobScheduler(): Promise<JobSchedulerUpdateResult> {
    return 'not-found';
  }

  async runJobSchedulerNow(): Promise<'not-found'> {
    return 'not-found';
  }

  getStatuses(): Status[] {
    return ['latest', 'active', 'waiting', 'completed', 'failed', 'delayed'];
  }

  getJobStatuses(): JobStatus[] {
    return ['active', 'waiting', 'completed', 'failed', 'delayed'];
  }

  async getGlobalConcurrency() {
    return null;
  }

  async setGlobalConcurrency() {
    throw new Error('not supported on the pgboss engine');
  }
}

/**
 * The dashboard's board source for a pgboss engine: every queue and its dead-letter queue. Retrying a
 * dead job replays its letter, so there is no stale letter to clean up afterwards.
 */
export function pgbossBoardSource(engine: PgbossEngine, queueNames: readonly string[]): BoardSource {
  return {
    adapters(readOnly: boolean): BaseAdapter[] {
      return queueNames.flatMap((q) => [
        new PgbossQueueAdapter(engine, q, { readOnlyMode: readOnly, allowRetries: !readOnly }),
        new PgbossQueueAdapter(engine, dlqName(q), {
          readOnlyMode: readOnly,
          allowRetries: !readOnly,
          description: 'Dead letters. Retry replays the job under its own id.',
        }),
      ]);
    },
    async close() {},
  };
}
