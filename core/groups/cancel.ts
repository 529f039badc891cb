// A grouped job cancelled before it ran (docs/groups.md): it leaves its group's parked list, or frees the slot
// it had been released into, at once. Before, a parked one kept counting in the group's `waiting`, and a
// released one held its slot until the sweeper's reap (GROUP_REAP_AFTER_MS). A failure here is logged and
// left to the sweeper (slots) or to the job's turn in the list (parked: the release finds it final).
import type { Logger } from 'pino';
import type { JobView } from '../engine.ts';
import type { GroupStore } from './types.ts';

export async function afterCancel(groups: GroupStore, job: Pick<JobView, 'id' | 'queue' | 'group'>, log?: Logger): Promise<void> {
  if (job.group === undefined) return;
  await groups
    .free(job.queue, job.group, job.id)
    .catch((err) =>
      log?.warn({ jobId: job.id, group: job.group, err: (err as Error).message }, 'could not take a cancelled job out of its group'),
    );
}
