// The worker process's services: job handlers (and their connections), instrumentation (metrics port,
// throughput, tracing hooks), the runtime that consumes the queues; or, with WORKER_AUTOSCALE, the
// supervisor that runs worker children instead (workers/supervisor.ts).
import { startFlowMaintenance } from '../../core/flows/run.ts';
import { startGroupSweeper } from '../../core/groups/sweeper.ts';
import { resource, service } from '../../core/lifecycle.ts';
import { startWorkerInstrumentation } from '../../core/metrics/worker-server.ts';
import { catalogView, queueNames } from '../../workers/catalog.ts';
import { queueRateLimits, readinessChecks } from '../../workers/domains.ts';
import { createHandlers } from '../../workers/handlers.ts';
import { startWorkers } from '../../workers/runtime.ts';
import { startSupervisor } from '../../workers/supervisor.ts';
import { apiKeysOf } from '../api-keys.ts';
import type { EntryContext } from '../run.ts';
import type { ProcessBackend } from './backend.ts';
import { createSettlers, flowDeps } from './settlers.ts';

export async function startWorker(ctx: EntryContext, { config, backend }: ProcessBackend): Promise<void> {
  const { life, logger } = ctx;
  const { engine } = backend;
  const handlerSet = await life.start(
    resource(
      'job handlers',
      () => createHandlers({ config, logger, backend }, config.WORKER_QUEUES),
      (h) => h.close(),
    ),
  );
  const metricsKeys = config.WORKER_METRICS_PORT === undefined ? [] : apiKeysOf(config, logger);
  const instrumentation = await life.start(
    resource(
      'worker instrumentation',
      () => startWorkerInstrumentation({ config, logger, backend, apiKeys: metricsKeys, catalog: catalogView, readiness: readinessChecks }),
      (i) => i.close(),
    ),
  );
  const settlers = await createSettlers({ config, backend }, logger);
  // repairs group slots leaked by crashes and cancels, releases grouped jobs that came due (docs/groups.md)
  await life.start(
    resource(
      'group sweeper',
      async () =>
        startGroupSweeper({
          groups: backend.groups,
          engine,
          queues: queueNames,
          everyMs: config.GROUP_SWEEP_MS,
          reapAfterMs: config.GROUP_REAP_AFTER_MS,
          logger,
        }),
      async (s) => s.close(),
    ),
  );
  // workflows: start flows a crashed creation left unstarted, drop ended ones past retention
  await life.start(
    resource(
      'flow maintenance',
      async () => startFlowMaintenance(flowDeps({ config, backend }, logger)),
      async (m) => m.stop(),
    ),
  );
  await life.start(
    resource(
      'worker runtime',
      async () =>
        startWorkers({
          engine,
          logger,
          handlers: handlerSet.value.handlers,
          declared: handlerSet.value.declared,
          queues: config.WORKER_QUEUES,
          hooks: instrumentation.value.hooks,
          settlers,
          rateLimits: queueRateLimits(config),
        }),
      async (runtime, graceMs) => {
        const { abandoned } = await runtime.close(graceMs);
        if (abandoned > 0) logger.warn({ abandoned }, 'grace ran out: unfinished jobs will be recovered by the stalled-job check');
      },
    ),
  );
}

/** WORKER_AUTOSCALE: keep between min and max worker children (each runs `startWorker`). */
export async function startWorkerSupervisor(ctx: EntryContext, { config, backend }: ProcessBackend): Promise<void> {
  let supervisor: Awaited<ReturnType<typeof startSupervisor>> | undefined;
  await ctx.life.start(
    service(
      'worker supervisor',
      async () => {
        supervisor = await startSupervisor({ config, logger: ctx.logger, backend, apiKeys: apiKeysOf(config, ctx.logger) });
      },
      async () => await supervisor?.stop(),
    ),
  );
}
