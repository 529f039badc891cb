// Running flows (docs/flows.md): start one (store whole, then enqueue its roots), record a job's end and
// release or cancel the children it unblocks, end the flow once every job ended, cancel a flow, and make a
// flow whole that a crash left behind. Every step is idempotent: job ids are fixed at creation, so a step
// repeated after a crash (a parent re-run, a reconcile) enqueues nothing twice.
import type { Logger } from 'pino';
import type { Backend } from '../backend.ts';
import type { Engine, EnqueueRequest, JobView, Outcome } from '../engine.ts';
import type { Settler } from '../executor.ts';
import { enqueueManyGrouped } from '../groups/enqueue.ts';
import type { GroupStore } from '../groups/types.ts';
import { emitEvent } from '../outbound/events.ts';
import { fillData } from './data-from.ts';
import type { FinishResult, FlowJobSpec, FlowRecord, FlowState, FlowStore, JobFinish, NewFlow, ParentOutcome } from './types.ts';

/** `flow.completed` / `flow.failed`, once per flow (webhooks deliver them) */
export interface FlowEvent {
  type: 'flow.completed' | 'flow.failed';
  flowId: string;
  at: string;
}

export interface FlowDeps {
  store: FlowStore;
  engine: Pick<Engine, 'enqueueMany' | 'getJob' | 'getJobs' | 'cancel'>;
  /** grouped flow jobs (options.group) are released parked, like any grouped enqueue (docs/groups.md) */
  groups?: GroupStore;
  logger?: Logger;
  /**
   * called when a flow completes or fails, before its state is stored, so a crash in between calls it
   * again: it must be idempotent (webhook deliveries have deterministic ids). A throw fails the step.
   */
  onEvent?: (e: FlowEvent) => Promise<unknown> | unknown;
  /**
   * checks a job's payload as an enqueue would (the catalog's schemas), for jobs whose data is completed at
   * release (`dataFrom`); without it such a job cannot be released and ends dead
   */
  validate?: (name: string, data: unknown) => { ok: true; data: unknown } | { ok: false; message: string };
}

/** `flow.completed` / `flow.failed` as completion webhooks (core/outbound/events.ts), data: the flow's jobs. */
export function flowEvents(backend: Backend): FlowDeps['onEvent'] {
  return (e) =>
    emitEvent(backend, e.type, { id: e.flowId }, async () => {
      const flow = await backend.flows.get(e.flowId);
      return {
        id: e.flowId,
        state: e.type === 'flow.completed' ? 'completed' : 'failed',
        jobs: (flow?.jobs ?? []).map((j) => ({ key: j.key, id: j.id, name: j.name, state: j.final })),
        links: { self: `/v1/flows/${e.flowId}` },
      };
    });
}

const roots = (flow: { jobs: FlowJobSpec[] }) => flow.jobs.filter((j) => j.parents.length === 0);

/** Store `flow` whole, enqueue its roots, mark it started. A crash between the steps is finished by `reconcile`. */
export async function startFlow(deps: FlowDeps, flow: NewFlow): Promise<void> {
  await deps.store.create(flow);
  await release(deps, flow.id, roots(flow));
  await deps.store.markStarted(flow.id);
}

/**
 * Enqueue `specs` (all their parents ended) with their parents' outcomes, under their fixed ids. A job whose
 * data takes fields from its parents (`dataFrom`) that cannot be filled, or then does not validate, is not
 * enqueued: it ends dead with the reason (its own children then follow their onParentFailure).
 */
async function release(deps: FlowDeps, flowId: string, specs: FlowJobSpec[]): Promise<void> {
  if (specs.length === 0) return;
  const parentKeys = [...new Set(specs.flatMap((s) => s.parents))];
  const outs = await deps.store.outcomes(flowId, parentKeys);
  const now = Date.now();
  const reqs: EnqueueRequest[] = [];
  const refused: { key: string; message: string }[] = [];
  for (const s of specs) {
    const parents: Record<string, ParentOutcome> = {};
    for (const p of s.parents) {
      const o = outs[p];
      // skip: a failed parent is left out; continue: the child sees its error
      if (o && (o.state === 'completed' || s.policy === 'continue')) parents[p] = o;
    }
    const data = s.dataFrom ? completedData(deps, s, parents) : { ok: true as const, data: s.request.data };
    if (!data.ok) {
      refused.push({ key: s.key, message: data.message });
      continue;
    }
    const delayMs = s.runAtMs !== undefined ? Math.max(0, s.runAtMs - now) : s.request.delayMs;
    reqs.push({
      ...s.request,
      data: data.data,
      delayMs,
      jobId: s.id,
      meta: { ...s.request.meta, flow: { id: flowId, key: s.key }, parents },
    });
  }
  const enqueueMany = (r: EnqueueRequest[]) => deps.engine.enqueueMany(r);
  if (reqs.length > 0) await (deps.groups ? enqueueManyGrouped(deps.groups, enqueueMany, reqs) : enqueueMany(reqs));
  for (const r of refused) {
    deps.logger?.warn(
      { flowId, key: r.key, reason: r.message },
      'flow job not released: its data from its parents is incomplete or invalid',
    );
    await recordEnd(deps, flowId, r.key, { state: 'dead', error: { message: r.message, name: 'InvalidJobError' } });
  }
}

function completedData(deps: FlowDeps, s: FlowJobSpec, parents: Record<string, ParentOutcome>) {
  const filled = fillData(s.request.data, s.dataFrom ?? {}, parents);
  if (!filled.ok) return filled;
  if (!deps.validate) return { ok: false as const, message: 'this process cannot check the job’s data (no validator)' };
  const v = deps.validate(s.name, filled.data);
  return v.ok ? v : { ok: false as const, message: `the data filled from its parents is invalid: ${v.message}` };
}

/** Record that job `key` ended, then release or cancel what it unblocked, and end the flow when all ended. */
export async function recordEnd(deps: FlowDeps, flowId: string, key: string, end: JobFinish): Promise<void> {
  const r = await deps.store.finish(flowId, key, end);
  if (r) await afterEnd(deps, flowId, r);
}

async function afterEnd(deps: FlowDeps, flowId: string, r: FinishResult): Promise<void> {
  const ready = r.children.filter((c) => c.remaining <= 0 && c.final === null);
  if (ready.length > 0) {
    const failedParents = new Map(ready.map((c) => [c.key, c.failedParents]));
    const specs = await deps.store.specs(
      flowId,
      ready.map((c) => c.key),
    );
    const doomed = (s: FlowJobSpec) => r.state === 'cancelled' || (s.policy === 'fail' && (failedParents.get(s.key) ?? 0) > 0);
    await release(
      deps,
      flowId,
      specs.filter((s) => !doomed(s)),
    );
    const message = r.state === 'cancelled' ? 'the flow was cancelled' : 'a parent failed (onParentFailure: fail)';
    await Promise.all(specs.filter(doomed).map((s) => recordEnd(deps, flowId, s.key, { state: 'cancelled', error: { message } })));
  }
  if (r.finished >= r.total && r.state === 'running') await endFlow(deps, flowId, r.failed > 0 ? 'failed' : 'completed');
}

async function endFlow(deps: FlowDeps, flowId: string, state: 'completed' | 'failed') {
  await deps.onEvent?.({ type: state === 'completed' ? 'flow.completed' : 'flow.failed', flowId, at: new Date().toISOString() });
  if (await deps.store.setState(flowId, state)) deps.logger?.info({ flowId, state }, `flow ${state}`);
}

const endOf = (outcome: Exclude<Outcome, { status: 'retry' }>): JobFinish =>
  outcome.status === 'completed'
    ? { state: 'completed', result: outcome.result }
    : { state: outcome.status, error: { message: outcome.error.message, name: outcome.error.name } };

/**
 * The settler (core/executor.ts) that records a flow job's end before the engine persists it: the release of
 * its children and its own completion cannot be split by a crash (a crash in between re-runs the job, and
 * the repeated record is a no-op that releases the same children under the same ids).
 */
export function flowSettler(deps: FlowDeps): Settler {
  return (job, outcome) => {
    const flow = job.meta.flow;
    if (!flow || outcome.status === 'retry') return;
    return recordEnd(deps, flow.id, flow.key, endOf(outcome));
  };
}

/** How the engine's view of a job ends it, when the flow missed that (a cancel of a waiting job, a stall death). */
function endFromEngine(job: JobView): JobFinish | null {
  if (job.state === 'completed') return { state: 'completed', result: job.result };
  if (job.state === 'dead' || job.state === 'failed') return { state: 'dead', error: { message: job.error?.message ?? 'failed' } };
  if (job.state === 'cancelled') return { state: 'cancelled', error: { message: job.error?.message ?? 'cancelled' } };
  return null;
}

export type FlowJobState = JobView['state'] | 'pending';

export interface FlowView {
  id: string;
  state: FlowState;
  jobs: { key: string; id: string; name: string; state: FlowJobState }[];
}

const released = (flow: FlowRecord, j: FlowRecord['jobs'][number]) => (flow.started || j.parents.length === 0) && j.remaining <= 0;

/**
 * The flow with each job's state, made whole on the way: roots a crashed creation never enqueued are
 * enqueued, and jobs the engine ended without the flow hearing of it (cancelled while waiting, dead by
 * stalls) are recorded. null: no such flow.
 */
export async function readFlow(deps: FlowDeps, id: string): Promise<FlowView | null> {
  let flow = await deps.store.get(id);
  if (!flow) return null;
  if (!flow.started && flow.state === 'running') {
    await release(
      deps,
      id,
      await deps.store.specs(
        id,
        flow.jobs.filter((j) => j.parents.length === 0).map((j) => j.key),
      ),
    );
    await deps.store.markStarted(id);
    flow = { ...flow, started: true };
  }
  const f = flow;
  // the released jobs that have not ended, read in one call (a fan-out of 1,000 is one query on Postgres)
  const open = f.jobs.filter((j) => j.final === null && released(f, j));
  const read = new Map(open.map((j, k) => [j.id, k]));
  const openViews = open.length > 0 ? await deps.engine.getJobs(open.map((j) => j.id)) : [];
  const views = f.jobs.map((j) => {
    const k = read.get(j.id);
    return k === undefined ? null : (openViews[k] ?? null);
  });
  let changed = false;
  for (const [i, job] of views.entries()) {
    const end = job && endFromEngine(job);
    const j = f.jobs[i];
    if (end && j) {
      await recordEnd(deps, id, j.key, end);
      changed = true;
    }
  }
  if (changed) return readFlow(deps, id);
  return {
    id,
    state: f.state,
    jobs: f.jobs.map((j, i) => ({ key: j.key, id: j.id, name: j.name, state: j.final ?? views[i]?.state ?? 'pending' })),
  };
}

/** Cancel what has not ended: the flow becomes cancelled, waiting jobs are cancelled, running ones told to stop. */
export async function cancelFlow(deps: FlowDeps, id: string): Promise<FlowView | null | 'ended'> {
  const flow = await deps.store.get(id);
  if (!flow) return null;
  if (flow.state !== 'running' || !(await deps.store.setState(id, 'cancelled'))) return 'ended';
  const open = flow.jobs.filter((j) => j.final === null);
  const end: JobFinish = { state: 'cancelled', error: { message: 'the flow was cancelled' } };
  await Promise.all(
    open
      .filter((j) => released(flow, j))
      .map(async (j) => {
        const r = await deps.engine.cancel(j.id);
        // an active job's cancel reaches its run, whose settler records it; the others the flow records now
        if (r.outcome === 'cancelled' || r.outcome === 'not_found') await recordEnd(deps, id, j.key, end);
      }),
  );
  for (const j of open.filter((j) => !released(flow, j))) await recordEnd(deps, id, j.key, end);
  return readFlow(deps, id);
}

/** One maintenance pass (every worker runs it): start flows a crash left unstarted, drop ended ones past retention. */
export async function maintainFlows(deps: FlowDeps, opts: { startAfterMs: number; retentionMs: number }): Promise<void> {
  const now = Date.now();
  for (const id of await deps.store.unstarted(now - opts.startAfterMs, 100)) await readFlow(deps, id);
  await deps.store.sweep(now - opts.retentionMs);
}

/** flows whose creation is this old and still unstarted are started by maintenance */
const START_AFTER_MS = 30_000;
/** ended flows are kept this long for GET /v1/flows/:id */
export const FLOW_RETENTION_MS = 7 * 86_400_000;

/** `maintainFlows` every `intervalMs` (unref'd; a failed pass is logged and the next one tries again). */
export function startFlowMaintenance(deps: FlowDeps, intervalMs = 30_000): { stop(): void } {
  let running = false;
  const timer = setInterval(async () => {
    if (running) return;
    running = true;
    try {
      await maintainFlows(deps, { startAfterMs: START_AFTER_MS, retentionMs: FLOW_RETENTION_MS });
    } catch (err) {
      deps.logger?.warn({ err: (err as Error).message }, 'flow maintenance failed');
    } finally {
      running = false;
    }
  }, intervalMs).unref();
  return { stop: () => clearInterval(timer) };
}
