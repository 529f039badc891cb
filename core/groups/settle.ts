// The group settler (core/executor.ts Settler): a grouped job's final outcome frees its slot and releases the
// group's next parked job, in one store step, before the outcome is persisted. A retry keeps the slot (the job
// is still in the queue, waiting for its next attempt). Idempotent: a second free of the same id does nothing.
import type { Settler } from '../executor.ts';
import type { GroupStore } from './types.ts';

export function groupSettler(groups: GroupStore): Settler {
  return async (job, outcome) => {
    const group = job.meta.group;
    if (group === undefined || outcome.status === 'retry') return;
    await groups.free(job.queue, group, job.id);
  };
}
