// The group reaper (docs/groups.md): every GROUP_SWEEP_MS each worker process checks, per queue, the slots held
// longer than GROUP_REAP_AFTER_MS against their jobs. A slot whose job is final or gone (cancelled while
// waiting, a crash between a run and its settle, a dead letter by stall) is freed; a slot whose job is still
// parked (a crash between the store's step and BullMQ's promote) is given back and the job parked again.
// Then it releases what fits in groups that have parked jobs and room (delayed grouped jobs that came due,
// wake-ups lost to an outage). Every step is idempotent, so several processes sweeping at once is harmless.
import type { Logger } from 'pino';
import { type Engine, FINAL_STATES } from '../engine.ts';
import { type GroupStore, limitsOf, PARKED_AFTER_MS } from './types.ts';

export interface SweeperOptions {
  groups: GroupStore;
  engine: Pick<Engine, 'getJob'>;
  queues: readonly string[];
  everyMs: number;
  reapAfterMs: number;
  logger: Logger;
}

/** One pass over `queue`; returns how many slots it repaired. */
export async function sweepQueue(opts: Omit<SweeperOptions, 'queues' | 'everyMs' | 'logger'>, queue: string): Promise<number> {
  const { groups, engine } = opts;
  let repaired = 0;
  for (const { group, id } of await groups.heldLongerThan(queue, opts.reapAfterMs)) {
    const job = await engine.getJob(id);
    if (!job || FINAL_STATES.has(job.state)) {
      if (await groups.free(queue, group, id)) repaired++;
    } else if (job.state === 'delayed' && job.runAt && Date.parse(job.runAt) - Date.now() > PARKED_AFTER_MS) {
      if (await groups.free(queue, group, id)) repaired++;
      await groups.park(queue, group, [{ id, delayMs: 0 }]);
    }
  }
  const counts = await groups.counts(queue);
  if (counts.some((c) => c.waiting > 0)) {
    const overrides = await groups.overrides(queue);
    const defaults = groups.defaults(queue);
    for (const c of counts) {
      const limits = limitsOf(defaults, overrides.get(c.group));
      if (c.waiting > 0 && !limits.paused && c.active < limits.concurrency) await groups.fill(queue, c.group);
    }
  }
  return repaired;
}

export function startGroupSweeper(opts: SweeperOptions): { close(): void } {
  let running = false;
  const timer = setInterval(async () => {
    if (running) return;
    running = true;
    try {
      for (const queue of opts.queues) {
        const repaired = await sweepQueue(opts, queue);
        if (repaired > 0) opts.logger.warn({ queue, repaired }, 'group slots repaired (their jobs were final, gone or still parked)');
      }
    } catch (err) {
      opts.logger.warn({ err: (err as Error).message }, 'group sweep failed; next pass retries');
    } finally {
      running = false;
    }
  }, opts.everyMs);
  timer.unref();
  return { close: () => clearInterval(timer) };
}
