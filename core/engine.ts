// The engine seam: everything the API, workers and scheduler need from a queue store.
// core/engines/bullmq/ implements it on Redis, core/engines/pgboss/ on Postgres. Engines store and hand out
// jobs and persist the outcome the executor decided for each run; they decide nothing about retries.
import type { BackoffPolicy } from './backoff.ts';
import type { ParentOutcome } from './flows/parent-outcome.ts';

export type JobState = 'waiting' | 'delayed' | 'active' | 'completed' | 'failed' | 'dead' | 'cancelled';

/** What the engine stores beside the payload (requestId, trace context, timeout). */
export interface JobMeta {
  requestId?: string;
  timeoutMs?: number;
  /** the job's own time budget for retries (options.retryFor); the kind's default applies when unset */
  retryForMs?: number;
  traceparent?: string;
  /** options.callback.url: where completion webhooks of this job go (docs/webhooks.md) */
  callbackUrl?: string;
  /** options.group: the job is parked and released by its group's limits (core/groups/, docs/groups.md) */
  group?: string;
  /** a grouped job's own run time (ms), when it asked for a delay: what it reads as while parked (core/engines/shared.ts unparked) */
  groupRunAt?: number;
  /** the flow this job belongs to and its key there (core/flows/) */
  flow?: { id: string; key: string };
  /** a flow job's parents' outcomes by key, fixed when it was released (HandlerContext.parents) */
  parents?: Record<string, ParentOutcome>;
}

export interface EnqueueRequest {
  name: string;
  queue: string;
  /** already validated against the catalog */
  data: unknown;
  priority: number;
  /** ms from now; 0 = run now */
  delayMs: number;
  attempts: number;
  backoff: BackoffPolicy;
  timeoutMs: number;
  idempotencyKey?: string;
  /** deterministic id chosen by the caller (the scheduler's per-slot id); repeats collapse into one job */
  jobId?: string;
  retention: { completedSeconds: number; failedSeconds: number; completedCount?: number; failedCount?: number };
  meta?: JobMeta;
}

export interface JobView {
  id: string;
  name: string;
  queue: string;
  state: JobState;
  priority: number;
  data: unknown;
  attempts: { made: number; max: number };
  progress: unknown;
  result: unknown;
  error: { message: string; name?: string; stack?: string } | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  runAt: string | null;
  /** options.callback, when the job carries one (docs/webhooks.md) */
  callback?: { url: string };
  /** options.group, when the job has one (docs/groups.md) */
  group?: string;
}

export interface EnqueueResult {
  job: JobView;
  /** false when an idempotency key or job id matched an existing job */
  created: boolean;
}

export interface AttemptRecord {
  attempt: number;
  at: string;
  error: string;
}

export interface DeadLetter {
  /** the id of the job that died; replay reuses it */
  id: string;
  name: string;
  queue: string;
  data: unknown;
  reason: string;
  error: { message: string; name?: string; stack?: string };
  attempts: AttemptRecord[];
  deadAt: string;
}

export interface QueueInfo {
  name: string;
  paused: boolean;
  counts: Record<'waiting' | 'delayed' | 'active' | 'completed' | 'failed' | 'dead', number>;
  /** age in seconds of the oldest job ready to run (prioritized included); 0 when none waits */
  oldestWaitingAgeSeconds: number;
}

/** The job as a handler sees it. */
export interface ConsumedJob {
  id: string;
  name: string;
  queue: string;
  data: unknown;
  /** 1 for the first run */
  attempt: number;
  maxAttempts: number;
  meta: JobMeta;
  /** when its first failed attempt was recorded (ISO-8601, from the attempt history); undefined before any */
  firstFailedAt?(): Promise<string | undefined>;
  updateProgress(progress: number | object): Promise<void>;
  /** appended to the job's log (visible in the dashboard) */
  log(line: string): Promise<void>;
}

/**
 * What the executor (core/executor.ts) decided about one run, once. The engine only persists it:
 * `completed` with its result; `retry` after `delayMs` (attempts remain); `dead` now, with its reason
 * (a permanent error, or the last attempt failed); `cancelled`, never retried.
 * `attempt` is this run's entry in the job's attempt history.
 */
export type Outcome =
  | { status: 'completed'; result: unknown }
  | { status: 'retry'; delayMs: number; error: Error; attempt: AttemptRecord }
  | { status: 'dead'; reason: string; error: Error; attempt: AttemptRecord }
  | { status: 'cancelled'; error: Error; attempt: AttemptRecord };

export type FailedOutcome = Exclude<Outcome, { status: 'completed' }>;

/**
 * How an engine tells a run that a cancel reached it: the part of AbortSignal the executor reads, so an
 * AbortSignal fits. The engines hand each run a RunCancel (core/engines/shared.ts) instead: one plain
 * object per job, not an EventTarget.
 */
export interface CancelSignal {
  readonly aborted: boolean;
  readonly reason: unknown;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

export interface ConsumeOptions {
  concurrency: number;
  rateLimit?: { max: number; durationMs: number };
  /** runs a job through the executor and resolves with its outcome; never rejects */
  run(job: ConsumedJob, signal: CancelSignal): Promise<Outcome>;
  /**
   * How to run a job stored without Conveyor's envelope, e.g. by a plain pg-boss `send(queue, data)`: the
   * queue's only kind, with that kind's default attempts. Absent when the queue has several kinds (such a
   * job then dead-letters as of unknown kind). BullMQ jobs always carry their kind as the job name.
   */
  plain?: { kind: string; maxAttempts: number };
}

export interface Consumer {
  readonly queue: string;
  /** stop fetching, wait for running jobs up to `graceMs`, then abandon them to stall recovery */
  close(graceMs: number): Promise<{ abandoned: number }>;
}

/**
 * A wake-up about one job: its state may have changed, or it reported progress. Events are hints, never the
 * record: one can be lost with a connection, so a watcher re-reads the job (getJob) after subscribing and
 * whenever one arrives (BullMQ: QueueEvents; pg-boss: LISTEN/NOTIFY on the engine's events channel).
 */
export type JobEvent = { type: 'state' } | { type: 'progress' };

/** The states a job does not leave by itself (replay and re-run aside). */
export const FINAL_STATES: ReadonlySet<JobState> = new Set(['completed', 'failed', 'dead', 'cancelled']);

export interface EngineCapabilities {
  priority: boolean;
  delay: boolean;
  cancelActive: boolean;
  pause: boolean;
  rateLimit: boolean;
  progress: boolean;
}

export type CancelOutcome =
  | { outcome: 'cancelled'; job: JobView }
  | { outcome: 'cancelling'; job: JobView }
  | { outcome: 'finished'; job: JobView }
  | { outcome: 'not_found' };

export interface Engine {
  readonly kind: 'bullmq' | 'pgboss';
  readonly capabilities: EngineCapabilities;
  enqueue(req: EnqueueRequest): Promise<EnqueueResult>;
  enqueueMany(reqs: EnqueueRequest[]): Promise<EnqueueResult[]>;
  getJob(id: string): Promise<JobView | null>;
  /** many jobs at once, in the order of `ids` (null where none): one query on Postgres */
  getJobs(ids: readonly string[]): Promise<(JobView | null)[]>;
  /**
   * A debounced repeat (core/unique.ts): while job `req.jobId` is still delayed, it takes `req`'s data and
   * runs `req.delayMs` from now; null once it came due, started or finished.
   */
  replaceDelayed(req: EnqueueRequest): Promise<JobView | null>;
  cancel(id: string): Promise<CancelOutcome>;
  consume(queue: string, opts: ConsumeOptions): Consumer;
  queueInfo(queues: string[]): Promise<QueueInfo[]>;
  pauseQueue(queue: string): Promise<void>;
  resumeQueue(queue: string): Promise<void>;
  listDeadLetters(queues: string[], limit: number): Promise<DeadLetter[]>;
  /** re-enqueue a dead job under its own id with fresh attempts */
  replayDeadLetter(id: string, queues: string[]): Promise<JobView | null>;
  /**
   * Call `fn` on every state change and progress report of job `id` from now on (any process's). Resolves
   * once the subscription is live (so a getJob after it misses nothing); returns the unsubscribe.
   */
  watchJob(id: string, fn: (e: JobEvent) => void): Promise<() => void>;
  /** throws when the store cannot be reached */
  ping(): Promise<void>;
  close(): Promise<void>;
}
