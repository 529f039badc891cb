// Bull Board's promote buttons, group-aware (docs/groups.md, docs/dashboard.md). A grouped job waits for its
// group's turn: it is parked (delayed about five years) and its group releases it when a slot is free and its
// own time has come, so Bull Board's own promote would run it past the group's concurrency and rate. The
// board's handler (dashboard/board.ts) sends Bull Board's two promote routes here first:
// - one job, `PUT /api/queues/:queue/:jobId/promote`: a grouped job not yet running is refused (409
//   `grouped_job`); any other job goes on to Bull Board.
// - every delayed job, `PUT /api/queues/:queue/promote`: the bulk action `promote` (core/bulk-actions.ts) over the
//   queue's delayed jobs, run to its end, so grouped ones are skipped exactly as through the API; 200 as Bull
//   Board answers, and its UI refreshes as after its own.
// A dead-letter queue's promote goes on to Bull Board: no group releases a letter.
import type { Request, Response } from 'express';
import type { BulkActions } from '../core/bulk-actions.ts';
import type { JobView } from '../core/engine.ts';
import { ApiError } from '../core/http/api-error.ts';

export interface PromoteDeps {
  /** the catalog's queues (their dead-letter queues are left to Bull Board) */
  queues: readonly string[];
  getJob(id: string): Promise<JobView | null>;
  /** the bulk actions: promote-all is one, run to its end */
  bulk: Pick<BulkActions, 'runToEnd'>;
}

export interface PromoteRoute {
  queue: string;
  /** null: promote every delayed job of the queue */
  jobId: string | null;
}

/**
 * Which promote route `path` (relative to the board) is, matched as express's router matches it: literal
 * segments case-insensitive and percent-decoded, a trailing slash optional. Null for every other route.
 */
export function promoteRoute(path: string): PromoteRoute | null {
  let parts: string[];
  try {
    parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  } catch {
    return null;
  }
  const literal = (i: number, word: string) => parts[i]?.toLowerCase() === word;
  if (!literal(0, 'api') || !literal(1, 'queues') || !literal(parts.length - 1, 'promote')) return null;
  if (parts.length === 4) return { queue: parts[2] as string, jobId: null };
  if (parts.length === 5) return { queue: parts[2] as string, jobId: parts[3] as string };
  return null;
}

/** The 409 for a grouped job's promote: what it waits for, and where its group's limits change. */
export function groupedJobError(job: Pick<JobView, 'id' | 'queue' | 'group'>): ApiError {
  const where = `PUT /v1/queues/${encodeURIComponent(job.queue)}/groups/${encodeURIComponent(job.group ?? '')}`;
  return new ApiError(
    409,
    'grouped_job',
    `job ${job.id} is in group "${job.group}" of queue ${job.queue}: it waits for its group's turn (a free slot under the ` +
      `group's concurrency and rate, and its own run time), so promoting it would run it past the group's limits. ` +
      `Change the group's limits with ${where}.`,
    [{ path: 'options.group', message: `grouped (${job.group}): released by its group, not promoted` }],
  );
}

/** Takes a promote route before Bull Board; false when the request is not one (or is left to Bull Board). */
export async function interceptPromote(deps: PromoteDeps, req: Request, res: Response): Promise<boolean> {
  if (req.method !== 'PUT') return false;
  const route = promoteRoute(req.path);
  if (!route || !deps.queues.includes(route.queue)) return false;
  if (route.jobId !== null) {
    const job = await deps.getJob(route.jobId);
    const waiting = job?.state === 'waiting' || job?.state === 'delayed';
    if (!job || job.queue !== route.queue || job.group === undefined || !waiting) return false;
    throw groupedJobError(job);
  }
  const by = `dashboard:${req.dashboardUser?.user ?? '?'}`;
  const delayed = { queues: [route.queue], kinds: null, states: ['delayed' as const], since: null, until: null, data: [] };
  const r = await deps.bulk.runToEnd('promote', delayed, by, req.requestId);
  if (r.status !== 'done') {
    throw new ApiError(
      503,
      'unavailable',
      `promote stopped after ${r.processed} of ${r.matched} jobs (the store did not answer): bulk action ${r.id}, which POST /v1/jobs/actions/${r.id}/resume continues once it reads interrupted`,
    );
  }
  if (r.failed > 0) {
    throw new ApiError(
      500,
      'internal',
      `promoted ${r.succeeded}, ${r.failed} failed (last: ${r.lastError}); see GET /v1/jobs/actions/${r.id}`,
    );
  }
  res.status(200).json({ action: r.id, promoted: r.succeeded, skipped: r.skipped });
  return true;
}
