// Persisting what the executor decided about a failed run; each write applies only while the row is
// still ours (`active`): a job cancelled meanwhile, or re-run elsewhere after a lapsed heartbeat, is left alone.
import type { ConsumedJob, FailedOutcome } from '../../engine.ts';
import { errorJson } from '../shared.ts';
import type { PgbossContext } from './context.ts';
import { deadLetter } from './dead-letters.ts';

export async function persistFailure(ctx: PgbossContext, uuid: string, job: ConsumedJob, outcome: FailedOutcome) {
  const err = JSON.stringify(errorJson(outcome.error));
  switch (outcome.status) {
    case 'cancelled':
      await ctx.q(ctx.sql['fail-cancelled'], [job.queue, uuid, err]);
      return;
    case 'retry':
      await ctx.q(ctx.sql['fail-retry'], [
        job.queue,
        uuid,
        Math.max(0, Math.round(outcome.delayMs)),
        err,
        JSON.stringify([outcome.attempt]),
      ]);
      return;
    case 'dead':
      await deadLetter(ctx, uuid, job, outcome);
  }
}
