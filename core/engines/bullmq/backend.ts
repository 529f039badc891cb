// The BullMQ backend: the engine plus every side store in the same Redis, under the engine's prefix
// (docs/bullmq-layout.md). The stores share one connection of their own (`conveyor:stores`, opened on
// first use, never the engine's); the dashboard's Bull Board and job reads get another (`conveyor:dashboard`),
// so a heavy board read never delays an API rate-limit check.
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { RateLimiterMemory, RateLimiterRedis } from 'rate-limiter-flexible';
import type { Backend, BackendCapabilities, BoardSource } from '../../backend.ts';
import type { FlowStore } from '../../flows/types.ts';
import { FALLBACK_GROUP_DEFAULTS, type GroupDefaults, type GroupStore } from '../../groups/types.ts';
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
  RetentionSweeper,
  ScheduleStore,
  ThroughputStore,
} from '../../stores.ts';
import { flexibleLimiter, flexibleOptions } from '../limiter.ts';
import type { BullmqEngine } from './engine.ts';
import { sideBase } from './keys.ts';
import { createRedis, type RedisRole } from './redis.ts';
import { RedisAuditStore } from './stores/audit.ts';
import { bullmqBoardSource } from './stores/board-source.ts';
import { RedisFlowStore } from './stores/flows.ts';
import { RedisGenerations } from './stores/generations.ts';
import { RedisGroupStore } from './stores/groups.ts';
import { bullmqJobActions } from './stores/job-actions.ts';
import { bullmqJobReads } from './stores/job-reads.ts';
import { RedisOnceLedger } from './stores/once-ledger.ts';
import { RedisRecentList } from './stores/recent-list.ts';
import { RedisRecordStore } from './stores/records.ts';
import { bullmqRetention } from './stores/retention.ts';
import { RedisScheduleStore } from './stores/schedules.ts';
import { RedisThroughputStore } from './stores/throughput.ts';

export interface BullmqBackendOptions {
  redisUrl: string;
  prefix: string;
  /** the catalog's queues (Bull Board shows each and its dead-letter queue) */
  queues: readonly string[];
  logger: Logger;
  /** each queue's group defaults (core/groups/config.ts) */
  groupDefaults?: (queue: string) => GroupDefaults;
}

export class BullmqBackend implements Backend {
  readonly storeName = 'redis';
  readonly storeUrl: string;
  readonly capabilities: BackendCapabilities;
  readonly retention: RetentionSweeper;
  readonly transactional = null;
  readonly release = null;
  readonly jobActions: JobActions;
  private readonly connections = new Map<RedisRole, Redis>();
  private closed = false;
  private throughput_: ThroughputStore | undefined;
  private jobReads_: JobReads | undefined;
  private audit_: AuditStore | undefined;
  private groups_: GroupStore | undefined;
  private flows_: FlowStore | undefined;
  /** the base of the side stores' keys (`<prefix>:_conveyor`, hash-tagged on a cluster) */
  private readonly side: string;

  constructor(
    readonly engine: BullmqEngine,
    private readonly opts: BullmqBackendOptions,
  ) {
    this.capabilities = { ...engine.capabilities, sharedRateLimits: true };
    this.storeUrl = opts.redisUrl;
    this.side = sideBase(engine.layout);
    this.retention = bullmqRetention(engine);
    this.jobActions = bullmqJobActions(engine);
  }

  /** The connection for `role`, opened on first use. */
  private redis(role: 'stores' | 'dashboard'): Redis {
    if (this.closed) throw new Error('the bullmq backend is closed');
    let r = this.connections.get(role);
    if (!r) {
      // the engine's target: on REDIS_CLUSTER a Cluster client, which follows MOVED to the owning node
      r = createRedis({ url: this.opts.redisUrl, cluster: this.engine.layout.cluster }, role);
      r.on('error', (err) => this.opts.logger.warn({ err: err.message }, `redis (${role}) error`));
      this.connections.set(role, r);
    }
    return r;
  }

  schedules<S extends Named>(): ScheduleStore<S> {
    return new RedisScheduleStore<S>(this.redis('stores'), this.side);
  }

  ledger<R extends object>(name: string, opts: { ttlSeconds: number }) {
    return new RedisOnceLedger<R>(this.redis('stores'), { base: this.side, name, ttlSeconds: opts.ttlSeconds });
  }

  records<T extends Named>(name: string): RecordStore<T> {
    return new RedisRecordStore<T>(this.redis('stores'), this.side, name);
  }

  generations(name: string, opts: { ttlSeconds: number }): Generations {
    return new RedisGenerations(this.redis('stores'), this.side, { name, ttlSeconds: opts.ttlSeconds });
  }

  recentList<T extends { id: string }>(name: string): RecentList<T> {
    return new RedisRecentList<T>(this.redis('stores'), this.side, name);
  }

  get throughput(): ThroughputStore {
    this.throughput_ ??= new RedisThroughputStore(this.redis('stores'), this.side);
    return this.throughput_;
  }

  /** Shared in Redis; while Redis hiccups each process limits on its own rather than reject every request. */
  limiter(opts: LimiterOptions): RateLimiter {
    const o = flexibleOptions(this.side, opts);
    return flexibleLimiter(new RateLimiterRedis({ ...o, storeClient: this.redis('stores'), insuranceLimiter: new RateLimiterMemory(o) }));
  }

  boardSource(): BoardSource {
    return bullmqBoardSource(this.redis('dashboard'), (q) => this.engine.queuePrefix(q), this.opts.queues, this.opts.logger);
  }

  get jobReads(): JobReads {
    this.jobReads_ ??= bullmqJobReads(this.redis('dashboard'), (q) => this.engine.queuePrefix(q), this.engine);
    return this.jobReads_;
  }

  get audit(): AuditStore {
    this.audit_ ??= new RedisAuditStore(this.redis('stores'), this.side);
    return this.audit_;
  }

  get groups(): GroupStore {
    this.groups_ ??= new RedisGroupStore(this.redis('stores'), this.engine, this.opts.groupDefaults ?? FALLBACK_GROUP_DEFAULTS);
    return this.groups_;
  }

  get flows(): FlowStore {
    this.flows_ ??= new RedisFlowStore(this.redis('stores'), this.side);
    return this.flows_;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.engine.close();
    for (const r of this.connections.values()) r.disconnect();
  }
}
