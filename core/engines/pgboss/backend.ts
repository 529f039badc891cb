// The pgboss backend: the engine plus every side store in the engine's Postgres schema (its pool, except
// the throughput counters' own small pool), so one database holds the whole deployment. Rate limits (API keys,
// dashboard sign-in) are shared through Postgres tables like the queues' own (capabilities.sharedRateLimits).
import type { Backend, BackendCapabilities, BoardSource, ReleaseStep } from '../../backend.ts';
import { FALLBACK_GROUP_DEFAULTS, type GroupDefaults } from '../../groups/types.ts';
import type {
  AuditStore,
  Generations,
  JobActions,
  JobReads,
  LimiterOptions,
  Named,
  RateLimiter,
  RecentList,
  RecordStore,
  ScheduleStore,
} from '../../stores.ts';
import { pgbossBoardSource } from './bull-board-adapter.ts';
import type { PgbossEngine } from './engine.ts';
import { PostgresAuditStore } from './stores/audit.ts';
import { PostgresFlowStore } from './stores/flows/store.ts';
import { PostgresGenerations } from './stores/generations.ts';
import { PostgresGroupStore } from './stores/groups.ts';
import { pgbossJobReads } from './stores/job-reads.ts';
import { pgbossLimiter } from './stores/limiter.ts';
import { PostgresOnceLedger } from './stores/once-ledger.ts';
import { PostgresRecentList } from './stores/recent-list.ts';
import { PostgresRecordStore } from './stores/records.ts';
import { PostgresScheduleStore } from './stores/schedules.ts';
import { PostgresThroughputStore } from './stores/throughput.ts';

export interface PgbossBackendOptions {
  databaseUrl: string;
  /** QUEUE_PREFIX: names the shared rate limits' keys */
  prefix: string;
  /** the catalog's queues (Bull Board shows each and its dead-letter queue) */
  queues: readonly string[];
  /** each queue's group defaults (core/groups/config.ts) */
  groupDefaults?: (queue: string) => GroupDefaults;
}

export class PgbossBackend implements Backend {
  readonly storeName = 'postgres';
  readonly storeUrl: string;
  readonly capabilities: BackendCapabilities;
  readonly retention = null; // pg-boss deletes finished jobs itself (retention options per queue)
  readonly jobReads: JobReads;
  readonly jobActions: JobActions;
  readonly release: ReleaseStep;
  readonly audit: AuditStore;
  readonly groups: PostgresGroupStore;
  readonly flows: PostgresFlowStore;
  private throughput_: PostgresThroughputStore | undefined;

  constructor(
    readonly engine: PgbossEngine,
    private readonly opts: PgbossBackendOptions,
  ) {
    this.capabilities = { ...engine.capabilities, sharedRateLimits: true };
    this.storeUrl = opts.databaseUrl;
    this.jobReads = pgbossJobReads(engine);
    this.audit = new PostgresAuditStore(engine);
    this.groups = new PostgresGroupStore(engine, opts.groupDefaults ?? FALLBACK_GROUP_DEFAULTS);
    this.flows = new PostgresFlowStore(engine);
    this.jobActions = engine.jobActions();
    // install or migrate pg-boss's schema (its own versioned migrations under an advisory lock), our
    // tables and every queue with its dead-letter queue; idempotent
    this.release = { name: 'pg-boss schema and queues', run: () => engine.migrate() };
  }

  get transactional() {
    return this.engine;
  }

  schedules<S extends Named>(): ScheduleStore<S> {
    return new PostgresScheduleStore<S>(this.engine);
  }

  ledger<R extends object>(name: string, opts: { ttlSeconds: number }) {
    return new PostgresOnceLedger<R>(this.engine, { name, ttlSeconds: opts.ttlSeconds });
  }

  records<T extends Named>(name: string): RecordStore<T> {
    return new PostgresRecordStore<T>(this.engine, name);
  }

  generations(name: string, opts: { ttlSeconds: number }): Generations {
    return new PostgresGenerations(this.engine, { name, ttlSeconds: opts.ttlSeconds });
  }

  recentList<T extends { id: string }>(name: string): RecentList<T> {
    return new PostgresRecentList<T>(this.engine, name);
  }

  get throughput(): PostgresThroughputStore {
    this.throughput_ ??= new PostgresThroughputStore(this.opts.databaseUrl, this.engine.schema);
    return this.throughput_;
  }

  limiter(opts: LimiterOptions): RateLimiter {
    return pgbossLimiter(this.engine, this.opts.prefix, opts);
  }

  boardSource(): BoardSource {
    return pgbossBoardSource(this.engine, this.opts.queues);
  }

  async close(): Promise<void> {
    await this.engine.close();
    await this.throughput_?.close();
  }
}
