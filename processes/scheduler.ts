// Procfile `scheduler`: fires cron schedules as jobs (scheduler/, docs/scheduler.md).
import { runEntry } from './run.ts';
import { startBackend } from './services/backend.ts';
import { startSchedulerService } from './services/scheduler.ts';

runEntry('scheduler', async (ctx) => {
  await startSchedulerService(ctx, await startBackend(ctx));
});
