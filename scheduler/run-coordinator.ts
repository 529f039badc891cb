// node-cron's RunCoordinator over the schedule store: the first replica to claim a slot runs it
// (Redis: SET NX PX). This only saves work; exactly-once comes from the per-slot job id, so even a
// race between replicas (or a lease that expired mid-slot) yields one job.
import type { RunCoordinator } from 'node-cron';
import type { ScheduleStore } from './store.ts';

export function storeRunCoordinator(store: ScheduleStore): RunCoordinator {
  return { shouldRun: (key, ttlMs) => store.claim(key, ttlMs) };
}
