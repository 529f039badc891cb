// Stall recovery: a crash is not the job's failure. Every process that runs the engine sweeps, every
// supervise interval, the `active` jobs whose worker stopped heartbeating and puts them back as if never
// fetched (attempt count and started_on restored). A job that had started counts a stall
// (output.stalls); past WORKER_MAX_STALLED_COUNT it is dead-lettered ("stalled more than N times"), as
// BullMQ's maxStalledCount. Jobs only fetched ahead (no `started` mark) go back untouched. pg-boss's own
// heartbeat monitor is kept as a backstop with a longer lapse (bossHeartbeatSeconds), so this sweep
// sees a dead worker's jobs first. A process's own sweep skips the jobs its consumers hold: they are alive
// whatever their heartbeat says (a touch that lagged on a loaded machine). See docs/engines.md.
import type { PgbossContext } from './context.ts';
import { splitData } from './context.ts';
import { deadLetter } from './dead-letters.ts';

interface OverRow {
  id: string;
  name: string;
  data: Record<string, unknown>;
  retry_count: number;
  stalls: number;
}

/** One sweep; returns how many jobs were put back and how many dead-lettered. */
export async function sweepStalled(
  ctx: PgbossContext,
  maxStalledCount: number,
  /** the jobs this process runs or holds fetched ahead: alive, whatever their heartbeat says (a touch that lagged under load) */
  held: () => string[] = () => [],
): Promise<{ recovered: number; dead: number }> {
  const mine = held();
  const { rows } = await ctx.q(ctx.sql['recover-stalled'], [ctx.queues, ctx.heartbeatSeconds, maxStalledCount, mine]);
  if (rows.length > 0) ctx.log.warn({ jobs: rows.length, unstarted: rows.filter((r) => r.unstarted).length }, 'stalled jobs put back');
  const over = (await ctx.q(ctx.sql['list-over-stalled'], [ctx.queues, ctx.heartbeatSeconds, mine, maxStalledCount])).rows as OverRow[];
  for (const row of over) {
    const { meta } = splitData(row.data);
    const reason = `stalled more than ${maxStalledCount} times`;
    await deadLetter(
      ctx,
      row.id,
      { id: meta.id ?? row.id, name: meta.kind, queue: row.name },
      {
        reason,
        error: new Error(`${reason}: the worker stopped responding`),
        attempt: { attempt: row.retry_count + 1, at: new Date().toISOString(), error: reason },
      },
    );
  }
  return { recovered: rows.length, dead: over.length };
}

/** The sweep on a timer (unref'd); the returned function stops it. */
export function startStallSweep(ctx: PgbossContext, maxStalledCount: number, everyMs: number, held: () => string[] = () => []): () => void {
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    sweepStalled(ctx, maxStalledCount, held)
      .catch((err) => ctx.log.warn({ err: (err as Error).message }, 'stall sweep failed'))
      .finally(() => {
        running = false;
      });
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
