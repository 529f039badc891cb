// The settlers every worker runs between a job's decided outcome and its persistence (core/executor.ts
// Settler): one entry per feature that must act on an outcome before it is stored (workflows release
// children, webhooks record events, group limits free a slot). Order is the order of this list.
import type { Settler } from '../../core/executor.ts';
import { groupSettler } from '../../core/groups/settle.ts';
import { webhookSettler } from '../../workers/webhooks/settler.ts';
import type { ProcessBackend } from './backend.ts';

export async function createSettlers({ config, backend }: ProcessBackend): Promise<Settler[]> {
  // groups last: a settler that throws turns the outcome into a retry, which keeps the group slot
  return [webhookSettler(backend, config), groupSettler(backend.groups)];
}
