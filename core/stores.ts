// The side stores beside the queue engine, by role. Each engine's backend (core/engines/<engine>/backend.ts)
// implements every role in that engine's store (Redis for bullmq, the engine's Postgres schema for pgboss);
// features ask the backend for a role, never for an engine. test/stores-contract.test.ts runs one contract
// suite per role on both. Records are JSON-safe; a store does not validate them (the caller owns the shape).
import type { JobView } from './engine.ts';
import type { JobFilter, JobPage, JobQuery } from './search.ts';

/** Something stored under its name. */
export interface Named {
  name: string;
}

/**
 * Named JSON records shared by every replica (runtime HTTP kinds, webhook subscriptions): small sets that
 * readers list often. `name` is the key; put replaces.
 */
export interface RecordStore<T extends Named> {
  /** every record, by name */
  list(): Promise<T[]>;
  get(name: string): Promise<T | null>;
  put(record: T): Promise<void>;
  /**
   * Compare-and-set: `next` replaces the record only if the stored one is still `expected` (as `get`
   * answered it); false when it changed or went away meanwhile (read again and decide again).
   */
  replace(expected: T, next: T): Promise<boolean>;
  /** false when there was nothing to remove */
  remove(name: string): Promise<boolean>;
}

export interface ScheduleState {
  /** the latest slot handled (enqueued, or skipped by the misfire policy), ms since epoch */
  lastSlotMs: number | null;
  /** the id of the last job this schedule enqueued (slot or manual run) */
  lastJobId: string | null;
}

/** Runtime schedules, their firing state and the per-slot claim, shared by every replica. */
export interface ScheduleStore<S extends Named> {
  /** runtime schedules (code-declared ones are not stored unless overridden at runtime) */
  list(): Promise<S[]>;
  get(name: string): Promise<S | null>;
  put(schedule: S): Promise<void>;
  /** false when there was nothing to remove; removes the firing state too */
  remove(name: string): Promise<boolean>;
  /** firing state of every schedule that has any */
  states(): Promise<Map<string, ScheduleState>>;
  /** record a handled slot (monotonic: an older slot never replaces a newer one) and, if given, the job */
  recordFired(name: string, slotMs: number | null, jobId: string | null): Promise<void>;
  /**
   * Claim a slot for this replica (node-cron's RunCoordinator): true for the first caller within `ttlMs`.
   * Only saves duplicate work; exactly-once comes from the per-slot job id.
   */
  claim(key: string, ttlMs: number): Promise<boolean>;
}

export type BeginResult<R> =
  /** nobody did it: go ahead, then `commit` (or `release` when nothing happened) */
  | { state: 'go'; token: string }
  /** already done: do not do it again */
  | { state: 'done'; record: R }
  /** another run holds the claim right now (a stalled duplicate): try again after `retryInMs` */
  | { state: 'busy'; retryInMs: number };

/**
 * "This was done once": a claim with a lease while it is being done, then a record kept for the ledger's
 * TTL. A retry reads the record instead of doing the work twice (the email send ledger).
 */
export interface OnceLedger<R extends object> {
  /** claim the right to do `key` for `leaseMs`; the claim lapses by itself if this process dies */
  begin(key: string, leaseMs: number): Promise<BeginResult<R>>;
  /** record that `key` was done (kept for the TTL); replaces any claim */
  commit(key: string, record: R): Promise<void>;
  /** drop our claim when nothing was done, so a retry may go at once */
  release(key: string, token: string): Promise<void>;
  /** the record, or null when `key` was not done (or its record expired) */
  get(key: string): Promise<R | null>;
}

/** The newest documents by id, capped (oldest dropped first): the development mail catcher's store. */
export interface RecentList<T extends { id: string }> {
  /** add `doc` (its id new to the list) as the newest, then keep only the newest `cap` */
  push(doc: T, cap: number): Promise<void>;
  /** newest first */
  list(limit: number): Promise<T[]>;
  get(id: string): Promise<T | null>;
  clear(): Promise<void>;
}

/** What a flush adds to one queue's minute besides the count: failed runs and the summed run time. */
export interface RunSums {
  /** runs that threw (retried or dead-lettered; cancelled runs are not failures) */
  failed: number;
  /** the runs' durations, summed */
  runMs: number;
}

/** One minute of one queue's finished runs (the dashboard's health charts). */
export interface QueueMinute extends RunSums {
  /** minutes since the epoch */
  minute: number;
  finished: number;
}

/** Finished runs per queue in time buckets, shared by every worker (core/metrics/throughput.ts). */
export interface ThroughputStore {
  /** `sums` (optional per entry) also go to the queue's minute of `bucket` */
  add(bucket: number, counts: [queue: string, n: number, sums?: RunSums][]): Promise<void>;
  /** finished runs per queue in buckets `fromBucket`..`toBucket` (every queue asked for is in the answer) */
  read(queues: string[], fromBucket: number, toBucket: number): Promise<Record<string, number>>;
  /**
   * Per queue one entry per minute `fromMinute`..`toMinute`, oldest first, zeros where nothing finished
   * (every queue asked for is in the answer). Minutes are kept about an hour.
   */
  minutes(queues: string[], fromMinute: number, toMinute: number): Promise<Record<string, QueueMinute[]>>;
}

export interface LimiterOptions {
  /** names the limiter's keys (`<prefix>:_conveyor:<name>:<key>`); limiters of the same name share counts */
  name: string;
  /** allowed consumptions per key … */
  points: number;
  /** … per this many seconds */
  durationSeconds: number;
  /**
   * true: every process must share the counts (a send throttle), in the engine's store on every engine.
   * Otherwise they are shared where the backend keeps limits in its store (capabilities.sharedRateLimits)
   * and kept in memory per process where it does not.
   */
  shared?: boolean;
}

export type LimitDecision = { allowed: true } | { allowed: false; retryAfterMs: number };

export interface RateLimiter {
  /** take one point for `key` */
  consume(key: string): Promise<LimitDecision>;
  /** forget `key`'s consumptions (a successful sign-in) */
  reset(key: string): Promise<void>;
}

/**
 * Generation numbers per key, shared by every process (core/unique.ts: the singleton key's current job is
 * `<key>#<generation>`). A key never seen reads 0. Records live `ttlSeconds` after their last advance.
 */
export interface Generations {
  read(key: string): Promise<number>;
  /** move `key` from generation `from` to `from + 1` unless another process already moved it; the generation after */
  advance(key: string, from: number): Promise<number>;
}

/** Reads the dashboard needs that the engine seam does not offer. */
export interface JobReads {
  /** jobs finished in the last `windowMs` (final failures only, not retried attempts), or null when the store cannot tell */
  finishedSince(queue: string, windowMs: number): Promise<{ completed: number; failed: number } | null>;
  /** the job an idempotent enqueue of `kind` with `key` made, while retained */
  byIdempotencyKey(kind: string, key: string): Promise<JobView | null>;
  /** newest jobs of `kind` still held by `queue` (at most `limit`), or [] when the store cannot tell */
  byKind(kind: string, queue: string, limit: number): Promise<JobView[]>;
  /** one page of the jobs matching `query`, newest first (core/search.ts; cost per engine in docs/job-search.md) */
  search(query: JobQuery): Promise<JobPage>;
  /** how many retained jobs match `filter` */
  count(filter: JobFilter): Promise<number>;
}

/** What a bulk action does to one job (core/bulk-actions.ts); each is false when the job is not in a state it applies to. */
export interface JobActions {
  /** a failed or cancelled job (not dead: replay that) runs again under its id with fresh attempts */
  retry(job: JobView): Promise<boolean>;
  /** removes a job that is not running, and its dead letter */
  remove(job: JobView): Promise<boolean>;
  /** a delayed job becomes due now */
  promote(job: JobView): Promise<boolean>;
}

export interface RetentionLimits {
  completedMaxAgeMs: number;
  failedMaxAgeMs: number;
  deadLetterMaxAgeMs: number;
  /** at most this many jobs removed per state and queue */
  limit: number;
}

/** Trims finished jobs and dead letters past their age (for an engine that does not expire them itself). */
export interface RetentionSweeper {
  sweep(queue: string, limits: RetentionLimits): Promise<{ completed: number; failed: number; deadLetters: number }>;
}

/** One recorded mutation (core/audit.ts): who did what to which target, when, and how it ended. */
export interface AuditEntry {
  /** unique; with `at` it orders entries (`cursorOf`) */
  id: string;
  /** ISO-8601, ms precision */
  at: string;
  /** an API key's name, a dashboard user, or `anonymous` */
  actor: string;
  actorType: 'key' | 'user' | 'anonymous';
  via: 'api' | 'cli' | 'dashboard';
  /** `queue.pause`, `dead-letter.replay`, `session.sign-in` … */
  action: string;
  /** `queue:email`, `job:123`, `schedule:nightly` …, or null */
  target: string | null;
  requestId: string;
  /** ok: 2xx/3xx; denied: 401/403/429; failed: anything else */
  outcome: 'ok' | 'denied' | 'failed';
  status: number;
  /** small JSON extras (the Bull Board path, a bulk filter) */
  detail?: Record<string, unknown>;
}

export interface AuditFilter {
  actor?: string;
  /** exact, or a prefix when it ends with `.` (`queue.` → every queue action) */
  action?: string;
  target?: string;
  outcome?: AuditEntry['outcome'];
  via?: AuditEntry['via'];
  requestId?: string;
  /** ms since epoch, inclusive */
  since?: number;
  /** ms since epoch, exclusive */
  until?: number;
}

/** The audit log's entries in the engine's store, newest first; trimmed by age (AUDIT_RETENTION_DAYS). */
export interface AuditStore {
  append(entry: AuditEntry): Promise<void>;
  /**
   * Entries matching `filter`, newest first, at most `limit`, older than `cursor` when given (a
   * `cursorOf` value). `next` is the cursor of the next page, or null at the end. A store may stop early
   * (bounded work per call) and still give a `next`.
   */
  list(filter: AuditFilter, limit: number, cursor?: string): Promise<{ entries: AuditEntry[]; next: string | null }>;
  /** remove entries older than `beforeMs`; returns how many */
  sweep(beforeMs: number): Promise<number>;
}
