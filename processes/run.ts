// What every entry (web.ts, worker.ts, scheduler.ts, release.ts, all.ts) does around its services:
// refuse arguments (exit 2), read the config (exit 78 naming every bad variable), then start the
// services `compose` asks for, in order, and stop them in reverse on SIGTERM/SIGINT (core/lifecycle.ts).
// A startup failure stops what already started and exits with its code (78 config, 69 unavailable, 1 other).
import type { Logger } from 'pino';
import { ExitError, Lifecycle } from '../core/lifecycle.ts';
import { createLogger } from '../core/logger.ts';
import { ScheduleConfigError } from '../scheduler/schedule-config-error.ts';
import { type Config, ConfigError, loadConfig } from '../workers/config.ts';

export type ProcessType = 'web' | 'worker' | 'scheduler' | 'release' | 'all';

export interface EntryContext {
  type: ProcessType;
  config: Config;
  logger: Logger;
  life: Lifecycle;
}

export const EX_USAGE = 2;
export const EX_CONFIG = 78;

function readConfig(): Config {
  try {
    return loadConfig();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    console.error(`conveyor: ${err.message}\nSee the configuration table in README.md.`);
    process.exit(EX_CONFIG);
  }
}

function startupFailed(ctx: EntryContext, err: unknown): void {
  // a bad SCHEDULES_* value found while wiring the services is a configuration error like any other
  if (err instanceof ScheduleConfigError) err = new ExitError(err.message, EX_CONFIG);
  if (err instanceof ExitError) {
    if (err.exitCode === EX_CONFIG) console.error(`conveyor: ${err.message}`);
    if (err.exitCode !== 0) ctx.logger.fatal({ err: err.cause ?? undefined, exitCode: err.exitCode }, err.message);
    void ctx.life.shutdown('startup failed', err.exitCode);
    return;
  }
  ctx.logger.fatal({ err }, 'startup failed');
  void ctx.life.shutdown('startup failed', 1);
}

/** Runs one process type: `compose` starts its services through `ctx.life.start`, in order. */
export function runEntry(type: ProcessType, compose: (ctx: EntryContext) => Promise<void>): void {
  const args = process.argv.slice(2);
  if (args.length > 0) {
    console.error(`usage: processes/${type}.ts (no arguments; got "${args.join(' ')}"). Settings come from the environment.`);
    process.exit(EX_USAGE);
  }
  const config = readConfig();
  const logger = createLogger(config.LOG_LEVEL, { process: type });
  const life = new Lifecycle({ logger, graceMs: config.WORKER_SHUTDOWN_GRACE_MS });
  life.handleSignals();
  const ctx: EntryContext = { type, config, logger, life };
  compose(ctx).catch((err) => startupFailed(ctx, err));
}
