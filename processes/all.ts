// `npm start`: web + worker + scheduler in one process, for development; with neither REDIS_URL nor
// DATABASE_URL it runs an embedded PostgreSQL, and on bullmq it starts a local redis-server when none answers.
// Started in this order, stopped in reverse: the web server first, the development stores last.
import { runEntry } from './run.ts';

runEntry('all', async (ctx) => {
  const [{ startBackend }, { startWorker }, { startSchedulerService }, { startWeb }] = await Promise.all([
    import('./services/backend.ts'),
    import('./services/worker.ts'),
    import('./services/scheduler.ts'),
    import('./services/web.ts'),
  ]);
  const backend = await startBackend(ctx);
  await startWorker(ctx, backend);
  await startSchedulerService(ctx, backend);
  await startWeb(ctx, backend);
});
