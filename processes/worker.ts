// Procfile `worker`: consumes WORKER_QUEUES; with WORKER_AUTOSCALE=min:max a supervisor of worker children.
import { runEntry } from './run.ts';
import { startBackend } from './services/backend.ts';
import { startWorker, startWorkerSupervisor } from './services/worker.ts';

runEntry('worker', async (ctx) => {
  const backend = await startBackend(ctx);
  if (backend.config.WORKER_AUTOSCALE) await startWorkerSupervisor(ctx, backend);
  else await startWorker(ctx, backend);
});
