// The scheduler process's service (scheduler/, docs/scheduler.md); a bad schedule declaration exits 78.
import { ExitError, resource } from '../../core/lifecycle.ts';
import { startScheduler } from '../../scheduler/index.ts';
import { ScheduleConfigError } from '../../scheduler/schedule-config-error.ts';
import { type EntryContext, EX_CONFIG } from '../run.ts';
import type { ProcessBackend } from './backend.ts';

export async function startSchedulerService(ctx: EntryContext, { config, backend }: ProcessBackend): Promise<void> {
  await ctx.life.start(
    resource(
      'scheduler',
      async () => {
        try {
          return await startScheduler({ config, logger: ctx.logger, backend });
        } catch (err) {
          throw err instanceof ScheduleConfigError ? new ExitError(err.message, EX_CONFIG) : err;
        }
      },
      (s) => s.close(),
    ),
  );
}
