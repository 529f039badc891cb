// Where runtime schedules and per-schedule firing state live: the backend's schedule store (core/stores.ts),
// in the engine's own store, so every replica sees the same thing.
import type { ScheduleStore as StoreOf } from '../core/stores.ts';
import type { StoredSchedule } from './definition.ts';

export type { ScheduleState } from '../core/stores.ts';

export type ScheduleStore = StoreOf<StoredSchedule>;
