// A grouped enqueue (options.group; docs/groups.md): the job is created parked (delayed by PARK_DELAY_MS, so it
// can be read and cancelled but never runs by itself), then the group store records it and releases what the
// group's limits allow, this job included when a slot is free. A repeat (idempotency key, job id) that found
// an existing job parks nothing: that job was parked when it was created.
import type { EnqueueRequest, EnqueueResult } from '../engine.ts';
import { type GroupStore, PARK_DELAY_MS } from './types.ts';

/** the request as the engine stores it: parked, its own run time kept in the meta for reads (engines/shared.ts unparked) */
function parkedRequest(req: EnqueueRequest, now: number): EnqueueRequest {
  const meta = req.delayMs > 0 ? { ...req.meta, groupRunAt: now + req.delayMs } : req.meta;
  return { ...req, delayMs: PARK_DELAY_MS, meta };
}

export async function enqueueGrouped(
  groups: GroupStore,
  enqueue: (req: EnqueueRequest) => Promise<EnqueueResult>,
  req: EnqueueRequest,
  group: string,
): Promise<EnqueueResult> {
  const now = Date.now();
  const result = await enqueue(parkedRequest(req, now));
  if (!result.created) return result;
  await groups.park(req.queue, group, [{ id: result.job.id, delayMs: req.delayMs }]);
  // the caller sees the job as it asked for it: waiting (or delayed until its own time), not parked
  const runAt = req.delayMs > 0 ? new Date(now + req.delayMs).toISOString() : null;
  return { ...result, job: { ...result.job, state: req.delayMs > 0 ? 'delayed' : 'waiting', runAt } };
}

/** A bulk enqueue: grouped requests are created parked, then parked in one store step per group. */
export async function enqueueManyGrouped(
  groups: GroupStore,
  enqueueMany: (reqs: EnqueueRequest[]) => Promise<EnqueueResult[]>,
  reqs: EnqueueRequest[],
): Promise<EnqueueResult[]> {
  if (!reqs.some((r) => r.meta?.group !== undefined)) return enqueueMany(reqs);
  const now = Date.now();
  const results = await enqueueMany(reqs.map((r) => (r.meta?.group === undefined ? r : parkedRequest(r, now))));
  const byQueue = new Map<string, { group: string; id: string; delayMs: number }[]>();
  results.forEach((res, i) => {
    const req = reqs[i] as EnqueueRequest;
    const group = req.meta?.group;
    if (group === undefined || !res.created) return;
    const parked = byQueue.get(req.queue) ?? [];
    parked.push({ group, id: res.job.id, delayMs: req.delayMs });
    byQueue.set(req.queue, parked);
    results[i] = {
      ...res,
      job: {
        ...res.job,
        state: req.delayMs > 0 ? 'delayed' : 'waiting',
        runAt: req.delayMs > 0 ? new Date(now + req.delayMs).toISOString() : null,
      },
    };
  });
  for (const [queue, jobs] of byQueue) await groups.parkMany(queue, jobs);
  return results;
}
