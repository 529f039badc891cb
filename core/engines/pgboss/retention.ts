// Retention by count (pg-boss has retention by age only): keep the newest completed / failed jobs of a
// queue, drop the rest. Jobs with an idempotency key are exempt (their stored retention names no count).
import type { PgbossContext } from './context.ts';

export async function trimByCount(ctx: PgbossContext, queue: string, counts: { completed?: number; failed?: number }) {
  for (const [state, keep, key] of [
    ['completed', counts.completed, 'completedCount'],
    ['failed', counts.failed, 'failedCount'],
  ] as const) {
    if (keep === undefined) continue;
    await ctx
      .q(ctx.sql['trim-by-count'], [queue, keep, state, key])
      .catch((err) => ctx.log.warn({ queue, err: (err as Error).message }, 'retention trim failed'));
  }
}
