// Wiring: the backend's schedule store, the built-in schedules, and the scheduler process
// (`processes/scheduler.ts`, also part of `all`).
import type { Logger } from 'pino';
import type { Backend } from '../core/backend.ts';
import type { Config } from '../workers/config.ts';
import type { ScheduleAdminDeps } from './admin.ts';
import { builtinSchedules } from './builtin.ts';
import type { StoredSchedule } from './definition.ts';
import { storeRunCoordinator } from './run-coordinator.ts';
import { Scheduler } from './scheduler.ts';

/** What the admin functions (API routes, dashboard) need: the backend's store, its engine, the code schedules. */
export function scheduleAdminDeps(config: Config, backend: Backend): ScheduleAdminDeps {
  return { config, engine: backend.engine, store: backend.schedules<StoredSchedule>(), codeSchedules: builtinSchedules(config) };
}

export interface RunningScheduler {
  scheduler: Scheduler;
  close(): Promise<void>;
}

/** Start firing schedules. Throws ScheduleConfigError (naming the schedule) when a declared one is invalid. */
export async function startScheduler(deps: { config: Config; logger: Logger; backend: Backend }): Promise<RunningScheduler> {
  const { config, logger, backend } = deps;
  const store = backend.schedules<StoredSchedule>();
  const scheduler = new Scheduler({
    config,
    logger,
    engine: backend.engine,
    store,
    coordinator: storeRunCoordinator(store),
    codeSchedules: builtinSchedules(config),
  });
  await scheduler.start();
  return { scheduler, close: () => scheduler.stop() };
}
