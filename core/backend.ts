// One backend per engine: the queue engine plus every side store beside it, each behind a role
// (core/stores.ts). core/engines/factory.ts builds the configured one; core/engines/bullmq/backend.ts keeps
// everything in Redis, core/engines/pgboss/backend.ts in the engine's Postgres schema. Features ask for a
// role (`backend.schedules()`, `backend.limiter(…)`), never which engine runs. The backend owns the
// connections its stores use: close() closes them and the engine.
import type { BaseAdapter } from '@bull-board/api/baseAdapter';
import type pg from 'pg';
import type { Engine, EngineCapabilities, EnqueueRequest, EnqueueResult } from './engine.ts';
import type { FlowStore } from './flows/types.ts';
import type { GroupStore } from './groups/types.ts';
import type {
  AuditStore,
  Generations,
  JobActions,
  JobReads,
  LimiterOptions,
  Named,
  OnceLedger,
  RateLimiter,
  RecentList,
  RecordStore,
  RetentionSweeper,
  ScheduleStore,
  ThroughputStore,
} from './stores.ts';

export interface BackendCapabilities extends EngineCapabilities {
  /** API and sign-in rate limits shared by every process (false: in memory per process; docs/engines.md) */
  sharedRateLimits: boolean;
}

/** Bull Board adapters for every queue and its dead-letter queue (dashboard/board.ts mounts them). */
export interface BoardSource {
  /** `readOnly` builds the viewer's set */
  adapters(readOnly: boolean): BaseAdapter[];
  /** called after Bull Board retried jobs of `queue` (ids, or every failed one): drop their stale dead letters */
  afterRetry?(queue: string, jobId: string | null): Promise<void>;
  close(): Promise<void>;
}

/** Enqueue through the caller's own database client, inside its open transaction (producers/transactional.ts). */
export interface TransactionalEnqueuer {
  enqueueWith(req: EnqueueRequest, client: pg.ClientBase): Promise<EnqueueResult>;
}

/** A step of the `release` process (processes/release.ts): idempotent, before a version takes traffic. */
export interface ReleaseStep {
  name: string;
  run(): Promise<void>;
}

export interface Backend {
  readonly engine: Engine;
  /** the store's name in readiness checks (GET /readyz): `redis` or `postgres` */
  readonly storeName: string;
  /** where the engine's data lives (REDIS_URL, or the database URL): readiness checks it as `storeName` */
  readonly storeUrl: string;
  readonly capabilities: BackendCapabilities;
  /** the scheduler's store and slot claims (the caller names the record type it keeps) */
  schedules<S extends Named>(): ScheduleStore<S>;
  /** a once-ledger named `name` (e.g. `email:sent`) whose records live `ttlSeconds` */
  ledger<R extends object>(name: string, opts: { ttlSeconds: number }): OnceLedger<R>;
  /** named records kept under `name` (e.g. `http-kinds`), shared by every replica */
  records<T extends Named>(name: string): RecordStore<T>;
  /** generation numbers named `name` (e.g. `unique`), records kept `ttlSeconds` after their last change */
  generations(name: string, opts: { ttlSeconds: number }): Generations;
  /** a capped newest-first list named `name` (e.g. `email:caught`) */
  recentList<T extends { id: string }>(name: string): RecentList<T>;
  /** finished-run counters shared by every worker */
  readonly throughput: ThroughputStore;
  limiter(opts: LimiterOptions): RateLimiter;
  /** Bull Board's adapters, on a connection of their own; close the source when done */
  boardSource(): BoardSource;
  readonly jobReads: JobReads;
  /** the audit log's entries (core/audit.ts) */
  readonly audit: AuditStore;
  /** per-group limits: parked jobs, slots, overrides (core/groups/, docs/groups.md) */
  readonly groups: GroupStore;
  /** workflows: each flow's jobs, counts and results (core/flows/, docs/flows.md) */
  readonly flows: FlowStore;
  /** retry, remove, promote one job (bulk actions; cancel and replay are the engine's) */
  readonly jobActions: JobActions;
  /** null when the engine expires finished jobs and dead letters itself */
  readonly retention: RetentionSweeper | null;
  /** null when the engine cannot enqueue inside the caller's transaction */
  readonly transactional: TransactionalEnqueuer | null;
  /** the engine's own release step (pg-boss's schema migration), or null when it needs none */
  readonly release: ReleaseStep | null;
  /** closes the engine and every connection the stores opened */
  close(): Promise<void>;
}
