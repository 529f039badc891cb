// Procfile `worker`: consumes WORKER_QUEUES; with WORKER_AUTOSCALE=min:max a supervisor of worker children.
// Services load after the arguments and the config are checked, so a bad setting fails fast.
import { runEntry } from './run.ts';

runEntry('worker', async (ctx) => {
  const [{ startBackend }, { startWorker, startWorkerSupervisor }] = await Promise.all([
    import('./services/backend.ts'),
    import('./services/worker.ts'),
  ]);
  const backend = await startBackend(ctx);
  if (backend.config.WORKER_AUTOSCALE) await startWorkerSupervisor(ctx, backend);
  else await startWorker(ctx, backend);
});
