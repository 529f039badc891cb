// Per-group limits and fairness (docs/groups.md): the store role and the shapes the API shows.
// A grouped job (`options.group`) is enqueued parked: delayed by PARK_DELAY_MS, so it exists, can be read and
// cancelled, but never runs by itself. The group store keeps, per queue and group, the parked ids (FIFO by
// ready time) and the slots (the ids released into the engine's real queue, at most the group's concurrency).
// Releasing a parked job (make it due now, or at its rate slot) and taking its slot is one step of the store;
// a final outcome frees the slot and releases the next in the same step. So the real queue never holds more
// than `concurrency` jobs of a group, and a new group's first job waits behind at most one round of the others.

/** A parked job waits this long by itself (about five years): in practice only a release makes it due. */
export const PARK_DELAY_MS = 5 * 365 * 86_400_000;
/** a job whose run time lies further ahead than this is still parked (a released one is due within its rate slot) */
export const PARKED_AFTER_MS = 365 * 86_400_000;

/** The queue's limits for every group without an override. `ratePerSecond` 0: no rate limit. */
export interface GroupDefaults {
  concurrency: number;
  ratePerSecond: number;
}

/** A runtime override of one group (PUT /v1/queues/:queue/groups/:group); absent fields keep the default. */
export interface GroupOverride {
  concurrency?: number;
  ratePerSecond?: number;
  paused?: boolean;
}

/** a backend built without config (tests, benches): one job per group at a time, no rate */
export const FALLBACK_GROUP_DEFAULTS = (): GroupDefaults => ({ concurrency: 1, ratePerSecond: 0 });

export interface GroupLimits extends GroupDefaults {
  paused: boolean;
}

export interface GroupCounts {
  group: string;
  /** parked: waiting for a slot (or for its delay) */
  waiting: number;
  /** holding a slot: released into the engine (waiting for a worker, running, or between retries) */
  active: number;
  /** age of the oldest parked job that is ready; 0 when none */
  oldestWaitingAgeSeconds: number;
}

export interface HeldSlot {
  group: string;
  id: string;
}

/**
 * The group store role (backend.groups): Redis (Lua, keys hash-tagged with the queue) or Postgres (one
 * function per step, the database clock). The store knows each queue's defaults; an override replaces them
 * field by field. Every step is atomic and idempotent.
 */
export interface GroupStore {
  /** the defaults of `queue` (config GROUP_* and the catalog's queue definition) */
  defaults(queue: string): GroupDefaults;
  /** jobs just created parked: record them (ready `delayMs` from now) and release what the limits allow */
  park(queue: string, group: string, jobs: { id: string; delayMs: number }[]): Promise<void>;
  /** jobs of many groups just created parked (a bulk enqueue): one round trip */
  parkMany(queue: string, jobs: { group: string; id: string; delayMs: number }[]): Promise<void>;
  /** `id` reached a final outcome: free its slot and release the next; false when it held none (already freed).
   * Concurrent frees are batched into one round trip (core/groups/batch.ts). */
  free(queue: string, group: string, id: string): Promise<boolean>;
  /** release whatever fits now (after an override, a resume, a delayed job coming due, a repair) */
  fill(queue: string, group: string): Promise<void>;
  /** every group of `queue` with parked or released jobs */
  groups(queue: string): Promise<string[]>;
  /** counts of these groups (of every group of the queue when omitted) */
  counts(queue: string, groups?: string[]): Promise<GroupCounts[]>;
  /** slots held for longer than `ageMs` (the reaper checks them against the engine) */
  heldLongerThan(queue: string, ageMs: number): Promise<HeldSlot[]>;
  getOverride(queue: string, group: string): Promise<GroupOverride | null>;
  putOverride(queue: string, group: string, override: GroupOverride): Promise<void>;
  /** false when there was none */
  removeOverride(queue: string, group: string): Promise<boolean>;
  /** every override of `queue`, by group */
  overrides(queue: string): Promise<Map<string, GroupOverride>>;
}

/** The effective limits of a group. */
export function limitsOf(defaults: GroupDefaults, o: GroupOverride | null | undefined): GroupLimits {
  return {
    concurrency: o?.concurrency ?? defaults.concurrency,
    ratePerSecond: o?.ratePerSecond ?? defaults.ratePerSecond,
    paused: o?.paused ?? false,
  };
}
