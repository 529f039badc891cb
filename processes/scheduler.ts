// Procfile `scheduler`: fires cron schedules as jobs (scheduler/, docs/scheduler.md).
// Services load after the arguments and the config are checked, so a bad setting fails fast.
import { runEntry } from './run.ts';

runEntry('scheduler', async (ctx) => {
  const [{ startBackend }, { startSchedulerService }] = await Promise.all([
    import('./services/backend.ts'),
    import('./services/scheduler.ts'),
  ]);
  await startSchedulerService(ctx, await startBackend(ctx));
});
