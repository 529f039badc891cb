// The bulk actions' per-job steps on BullMQ (core/bulk-actions.ts): retry a failed or cancelled job with
// fresh attempts, remove a job that is not running (and its dead letter), promote a delayed job.
import type { JobActions } from '../../../stores.ts';
import { dlqName } from '../../shared.ts';
import type { BullmqEngine } from '../engine.ts';
import { dlqId } from '../jobs.ts';

export function bullmqJobActions(engine: BullmqEngine): JobActions {
  const find = (queue: string, id: string) => engine.queue(queue).getJob(id);
  return {
    async retry(view) {
      const job = await find(view.queue, view.id);
      if (!job || (await job.getState()) !== 'failed') return false;
      await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
      return true;
    },
    async remove(view) {
      const removed = await engine
        .queue(view.queue)
        .remove(view.id)
        .catch(() => 0); // refused while the job is locked (running)
      if (removed !== 1) return false;
      await engine.queue(dlqName(view.queue)).remove(dlqId(view.id));
      return true;
    },
    async promote(view) {
      const job = await find(view.queue, view.id);
      if (!job || (await job.getState()) !== 'delayed') return false;
      await job.promote();
      return true;
    },
  };
}
