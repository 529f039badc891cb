// The settlers every worker runs between a job's decided outcome and its persistence (core/executor.ts
// Settler): one entry per feature that must act on an outcome before it is stored (workflows release
// children, webhooks record events, group limits free a slot). Order is the order of this list.
import type { Settler } from '../../core/executor.ts';
import { type FlowDeps, flowEvents, flowSettler } from '../../core/flows/run.ts';
import { groupSettler } from '../../core/groups/settle.ts';
import { validatePayload } from '../../workers/catalog.ts';
import { webhookSettler } from '../../workers/webhooks/settler.ts';
import type { ProcessBackend } from './backend.ts';

/** What workflows need in a worker (the settler, and the maintenance pass in ./worker.ts). */
export function flowDeps({ backend }: ProcessBackend, logger?: FlowDeps['logger']): FlowDeps {
  return {
    store: backend.flows,
    engine: backend.engine,
    groups: backend.groups,
    logger,
    onEvent: flowEvents(backend),
    validate: validatePayload,
  };
}

export async function createSettlers(deps: ProcessBackend, logger?: FlowDeps['logger']): Promise<Settler[]> {
  const { config, backend } = deps;
  // flows first (a child's release is recorded before anything else acts on the parent's outcome);
  // groups last: a settler that throws turns the outcome into a retry, which keeps the group slot
  return [flowSettler(flowDeps(deps, logger)), webhookSettler(backend, config), groupSettler(backend.groups, logger)];
}
