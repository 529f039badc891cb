// Cancel, pause and resume: the row (or the paused table) changes first, then a NOTIFY on our control
// channel tells every process (this one included, through its Listener) to act on running work.
import type { CancelOutcome, JobView } from '../../engine.ts';
import type { PgbossContext } from './context.ts';
import { toUuid } from './ids.ts';
import type { Listener } from './listener.ts';
import { getJob } from './reads.ts';

const notify = (ctx: PgbossContext, message: object) => ctx.q(ctx.sql.notify, [ctx.controlChannel, JSON.stringify(message)]);

export async function cancel(ctx: PgbossContext, id: string): Promise<CancelOutcome> {
  await ctx.start();
  const uuid = toUuid(id);
  const { rows } = await ctx.q(ctx.sql['cancel-job'], [[...ctx.queues], uuid]);
  const prev = rows[0] as { state: string; updated: number } | undefined;
  if (!prev) return { outcome: 'not_found' };
  const job = (await getJob(ctx, id)) as JobView;
  if (prev.updated === 0) return { outcome: 'finished', job };
  ctx.emitEvents([uuid], 'state');
  if (prev.state === 'active') {
    await notify(ctx, { t: 'cancel', id: uuid });
    return { outcome: 'cancelling', job };
  }
  return { outcome: 'cancelled', job };
}

export async function pauseQueue(ctx: PgbossContext, listener: Listener, queue: string) {
  await ctx.start();
  await ctx.q(ctx.sql['pause-queue'], [queue]);
  listener.paused.add(queue);
  await notify(ctx, { t: 'pause', queue });
}

export async function resumeQueue(ctx: PgbossContext, listener: Listener, queue: string) {
  await ctx.start();
  await ctx.q(ctx.sql['resume-queue'], [queue]);
  listener.paused.delete(queue);
  listener.wake(queue);
  await notify(ctx, { t: 'resume', queue });
}
