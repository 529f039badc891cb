// Wiring: the store for the configured engine, the built-in schedules, and the scheduler process
// (`processes/main.ts scheduler`, also part of `all`).
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Engine } from '../core/engine.ts';
import { PgbossEngine } from '../core/engines/pgboss/engine.ts';
import { PostgresScheduleStore } from '../core/engines/pgboss/schedule-store.ts';
import type { Config } from '../workers/config.ts';
import type { ScheduleAdminDeps } from './admin.ts';
import { builtinSchedules } from './builtin.ts';
import { RedisScheduleStore } from './redis-store.ts';
import { storeRunCoordinator } from './run-coordinator.ts';
import { Scheduler } from './scheduler.ts';
import type { ScheduleStore } from './store.ts';

/**
 * The store beside the engine's queues (Redis for bullmq, the engine's Postgres schema for pgboss), or null
 * for an engine without one.
 * `redis` is borrowed (not closed); without it the store opens its own `scheduler` connection.
 */
export function scheduleStoreFor(config: Config, engine: Engine, redis?: Redis): ScheduleStore | null {
  if (engine.kind === 'bullmq') return new RedisScheduleStore(redis ?? config.REDIS_URL, config.QUEUE_PREFIX);
  if (engine instanceof PgbossEngine) return new PostgresScheduleStore(engine);
  return null;
}

export function scheduleAdminDeps(config: Config, engine: Engine, store: ScheduleStore): ScheduleAdminDeps {
  return { config, engine, store, codeSchedules: builtinSchedules(config) };
}

export interface RunningScheduler {
  scheduler: Scheduler | null;
  close(): Promise<void>;
}

/** Start firing schedules. Throws ScheduleConfigError (naming the schedule) when a declared one is invalid. */
export async function startScheduler(deps: { config: Config; logger: Logger; engine: Engine }): Promise<RunningScheduler> {
  const { config, logger, engine } = deps;
  const codeSchedules = builtinSchedules(config);
  const store = scheduleStoreFor(config, engine);
  if (!store) {
    logger.warn({ engine: engine.kind }, 'scheduler: no schedule store for this engine yet; schedules do not fire');
    return { scheduler: null, close: async () => {} };
  }
  const scheduler = new Scheduler({ config, logger, engine, store, coordinator: storeRunCoordinator(store), codeSchedules });
  await scheduler.start();
  return {
    scheduler,
    close: async () => {
      await scheduler.stop();
      await store.close();
    },
  };
}
