// Where runtime schedules and per-schedule firing state live: the engine's own store, so every
// replica sees the same thing. Redis (BullMQ engine) here; a Postgres engine adds its own.
import type { StoredSchedule } from './definition.ts';

export interface ScheduleState {
  /** the latest slot handled (enqueued, or skipped by the misfire policy), ms since epoch */
  lastSlotMs: number | null;
  /** the id of the last job this schedule enqueued (slot or manual run) */
  lastJobId: string | null;
}

export interface ScheduleStore {
  /** runtime schedules (code-declared ones are not stored unless overridden at runtime) */
  list(): Promise<StoredSchedule[]>;
  get(name: string): Promise<StoredSchedule | null>;
  put(schedule: StoredSchedule): Promise<void>;
  /** false when there was nothing to remove */
  remove(name: string): Promise<boolean>;
  /** firing state of every schedule that has any */
  states(): Promise<Map<string, ScheduleState>>;
  /** record a handled slot (monotonic: an older slot never replaces a newer one) and, if given, the job */
  recordFired(name: string, slotMs: number | null, jobId: string | null): Promise<void>;
  /**
   * Claim a slot for this replica (node-cron's RunCoordinator): true for the first caller within `ttlMs`.
   * Only saves duplicate work; exactly-once comes from the per-slot job id.
   */
  claim(key: string, ttlMs: number): Promise<boolean>;
  close(): Promise<void>;
}
