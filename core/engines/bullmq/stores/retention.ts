// Retention on BullMQ: Queue.clean of finished jobs past their age, and of old dead letters (the
// `ops.retention-cleanup` job). BullMQ's own removeOnComplete/removeOnFail only trim at finish time.
import type { RetentionSweeper } from '../../../stores.ts';
import { type BullmqEngine, dlqName } from '../engine.ts';

export function bullmqRetention(engine: BullmqEngine): RetentionSweeper {
  return {
    async sweep(queue, limits) {
      const q = engine.queue(queue);
      const completed = await q.clean(limits.completedMaxAgeMs, limits.limit, 'completed');
      const failed = await q.clean(limits.failedMaxAgeMs, limits.limit, 'failed');
      const deadLetters = await engine.queue(dlqName(queue)).clean(limits.deadLetterMaxAgeMs, limits.limit, 'wait');
      return { completed: completed.length, failed: failed.length, deadLetters: deadLetters.length };
    },
  };
}
