// Reads: a job row as the seam's JobView, one job by id, a queue's jobs by state (the dashboard), and
// the per-queue counts.
import type { JobState, JobView, QueueInfo } from '../../engine.ts';
import { unparked } from '../shared.ts';
import { fromBossPriority, type JobRow, type PgbossContext, type Query, splitData } from './context.ts';
import { toUuid } from './ids.ts';

function stateOf(row: JobRow): JobState {
  switch (row.state) {
    case 'created':
    case 'retry':
      return row.future ? 'delayed' : 'waiting';
    case 'failed':
      return row.dead ? 'dead' : 'failed';
    default:
      return row.state;
  }
}

export function viewOf(row: JobRow): JobView {
  const { payload, meta } = splitData(row.data);
  const out = row.output ?? {};
  const state = stateOf(row);
  // a failure pg-boss recorded itself (heartbeat, expiry) carries only a message
  const pgError =
    out.error ??
    (row.state === 'failed' && typeof (out as { message?: unknown }).message === 'string'
      ? { message: (out as { message: string }).message }
      : null);
  return unparked(
    {
      id: meta.id ?? row.id,
      name: meta.kind,
      queue: row.name,
      state,
      priority: fromBossPriority(row.priority),
      data: payload,
      attempts: { made: row.started_on ? row.retry_count + 1 : 0, max: row.retry_limit + 1 },
      progress: out.progress ?? null,
      result: state === 'completed' ? (out.result ?? null) : null,
      error: state === 'completed' ? null : (pgError ?? null),
      createdAt: row.created_on.toISOString(),
      startedAt: row.started_on?.toISOString() ?? null,
      finishedAt: row.completed_on?.toISOString() ?? null,
      runAt: row.start_after > row.created_on ? row.start_after.toISOString() : null,
      ...(meta.callbackUrl ? { callback: { url: meta.callbackUrl } } : {}),
      ...(meta.group === undefined ? {} : { group: meta.group }),
    },
    meta,
  );
}

/** `query` reads through another connection (a client inside the caller's transaction). */
export async function getJob(ctx: PgbossContext, id: string, queues?: string[], query?: Query): Promise<JobView | null> {
  await ctx.start();
  const { rows } = await (query ?? ctx.q)(ctx.sql['get-job'], [queues ?? [...ctx.queues], toUuid(id)]);
  return rows[0] ? viewOf(rows[0] as JobRow) : null;
}

/** Many jobs by row uuid (one query), keyed by that uuid. */
export async function getJobsByUuid(ctx: PgbossContext, uuids: string[], queues: string[]): Promise<Map<string, JobView>> {
  await ctx.start();
  if (uuids.length === 0) return new Map();
  const { rows } = await ctx.q(ctx.sql['get-jobs'], [queues, uuids]);
  return new Map((rows as JobRow[]).map((r) => [r.id, viewOf(r)]));
}

/** Jobs of one queue in some states, newest first; `future` narrows to jobs due later (true) or now (false). */
export async function listJobs(
  ctx: PgbossContext,
  queue: string,
  states: JobRow['state'][],
  start: number,
  end: number,
  future?: boolean,
): Promise<JobView[]> {
  await ctx.start();
  const { rows } = await ctx.q(ctx.sql['list-jobs'], [queue, states, start, Math.max(0, end - start + 1), future ?? null]);
  return (rows as JobRow[]).map(viewOf);
}

export async function queueInfo(ctx: PgbossContext, names: string[]): Promise<QueueInfo[]> {
  await ctx.start();
  const { rows } = await ctx.q(ctx.sql['queue-info'], [names]);
  const byName = new Map(rows.map((r: { name: string }) => [r.name, r]));
  return names.map((name) => {
    const r = byName.get(name) as Record<string, number | boolean> | undefined;
    const n = (k: string) => Number(r?.[k] ?? 0);
    return {
      name,
      paused: Boolean(r?.paused),
      counts: {
        waiting: n('waiting'),
        delayed: n('delayed'),
        active: n('active'),
        completed: n('completed'),
        failed: n('failed'),
        dead: n('dead'),
      },
      oldestWaitingAgeSeconds: Math.max(0, n('oldest')),
    };
  });
}
