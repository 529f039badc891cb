// Workflows (DAGs of jobs, docs/flows.md): the shapes a flow is stored in and the flow store role each
// backend implements (core/engines/bullmq/stores/flows.ts in Redis, core/engines/pgboss/stores/flows/ in
// Postgres). The store only keeps counts and records atomically; what to release or cancel is decided once,
// in core/flows/release.ts, over what the store's atomic `finish` returned.
import type { EnqueueRequest } from '../engine.ts';
import type { ParentOutcome } from './parent-outcome.ts';

export type FlowState = 'running' | 'completed' | 'failed' | 'cancelled';
/** how a flow job ended, as the flow records it */
export type FlowJobFinal = 'completed' | 'dead' | 'cancelled';
/** what a child does when a parent ended dead or cancelled */
export type ParentPolicy = 'fail' | 'skip' | 'continue';

export type { ParentOutcome } from './parent-outcome.ts';

/** One job of a flow as stored at creation: its id is fixed then, its request enqueued when it is released. */
export interface FlowJobSpec {
  key: string;
  /** position in the request (the answer and GET list jobs in this order) */
  index: number;
  /** the job id it runs under (deterministic: a repeated release is one job) */
  id: string;
  name: string;
  parents: string[];
  children: string[];
  policy: ParentPolicy;
  /** what is enqueued on release; its meta gets the flow and the parents' outcomes then */
  request: EnqueueRequest;
  /** options.runAt as ms since epoch: the delay is counted at release from it */
  runAtMs?: number;
  /** fields of `request.data` filled from the parents' results at release, then checked whole (./data-from.ts) */
  dataFrom?: Record<string, string>;
}

export interface NewFlow {
  id: string;
  createdAt: number;
  jobs: FlowJobSpec[];
}

/** A job's end as recorded in the flow. */
export type JobFinish = ParentOutcome;

export interface ChildCount {
  key: string;
  /** parents not yet finished */
  remaining: number;
  /** parents that ended dead or cancelled */
  failedParents: number;
  /** the child's own end, when it has one */
  final: FlowJobFinal | null;
}

export interface FinishResult {
  /** false when the job's end was already recorded (a re-run after a crash): nothing was counted again */
  first: boolean;
  children: ChildCount[];
  /** jobs of the flow that have ended, of `total` */
  finished: number;
  total: number;
  /** jobs that ended dead or cancelled */
  failed: number;
  state: FlowState;
}

export interface FlowJobRecord {
  key: string;
  id: string;
  name: string;
  parents: string[];
  remaining: number;
  final: FlowJobFinal | null;
}

export interface FlowRecord {
  id: string;
  state: FlowState;
  /** the roots were enqueued (false: creation stopped between storing and enqueueing; the reconciler starts it) */
  started: boolean;
  createdAt: number;
  jobs: FlowJobRecord[];
}

/** Flows in the engine's store. Every method is atomic on its own. */
export interface FlowStore {
  /** store the whole flow (running, not started), or nothing */
  create(flow: NewFlow): Promise<void>;
  /** the roots are enqueued */
  markStarted(id: string): Promise<void>;
  /**
   * Record that job `key` ended (once: a repeat records nothing and counts nothing) and, the first time,
   * count it off each child's remaining parents. Returns every child's counts either way; null for no such flow.
   */
  finish(id: string, key: string, end: JobFinish): Promise<FinishResult | null>;
  /** the specs of these jobs (unknown keys left out) */
  specs(id: string, keys: string[]): Promise<FlowJobSpec[]>;
  /** the recorded ends of these jobs (jobs still running left out) */
  outcomes(id: string, keys: string[]): Promise<Record<string, JobFinish>>;
  get(id: string): Promise<FlowRecord | null>;
  /** move a running flow to `to`; false when it was not running */
  setState(id: string, to: Exclude<FlowState, 'running'>): Promise<boolean>;
  /** ids of flows created before `beforeMs` whose roots were never marked enqueued (at most `limit`) */
  unstarted(beforeMs: number, limit: number): Promise<string[]>;
  /** remove flows that ended before `beforeMs`; returns how many */
  sweep(beforeMs: number): Promise<number>;
}
