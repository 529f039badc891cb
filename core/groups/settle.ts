// The group settler (core/executor.ts Settler): a grouped job's final outcome frees its slot and releases the
// group's next parked job. A retry keeps the slot (the job is still in the queue, waiting for its next attempt).
// The free is started here and not waited for: the run's slot does not sit on a store round trip, and frees
// coalesce into batches (core/groups/batch.ts). The slot is given back after the handler ended, so a group's
// runs never overlap beyond its concurrency; a free lost to a crash or an outage (the outcome persisted, the
// free not) is repaired by the sweeper once the slot is older than GROUP_REAP_AFTER_MS (its job is final).
// Idempotent: a second free of the same id does nothing.
import type { Logger } from 'pino';
import type { Settler } from '../executor.ts';
import type { GroupStore } from './types.ts';

export function groupSettler(groups: GroupStore, logger?: Logger): Settler {
  return (job, outcome) => {
    const group = job.meta.group;
    if (group === undefined || outcome.status === 'retry') return;
    groups.free(job.queue, group, job.id).catch((err: Error) => {
      logger?.warn({ jobId: job.id, group, err: err.message }, 'freeing a group slot failed; the group sweeper will free it');
    });
  };
}
