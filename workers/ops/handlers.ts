// Handlers for the ops.* kinds (built-in schedules): the dead-letter digest and retention cleanup.
import { InvalidJobError } from '../../core/enqueue.ts';
import { PermanentError } from '../../core/errors/index.ts';
import type { HandlerContext, HandlerDeps, HandlerFactory, HandlersFor } from '../../core/handler.ts';
import type { PayloadOf } from '../../core/kinds.ts';
import type { OpsConfig } from './config.ts';
import type { opsKinds } from './kinds.ts';

type Kinds = typeof opsKinds;

export const opsModule: HandlerFactory<HandlersFor<Kinds>, OpsConfig> = async (deps) => ({
  handlers: {
    'ops.dead-letter-digest': (payload, ctx) => deadLetterDigest(deps, payload, ctx),
    'ops.retention-cleanup': (payload, ctx) => retentionCleanup(deps, payload, ctx),
  },
  close: async () => {},
});

/** Count dead letters per queue; when there are any, enqueue one digest email (its id is tied to this job). */
export async function deadLetterDigest(
  deps: HandlerDeps<OpsConfig>,
  payload: PayloadOf<Kinds['ops.dead-letter-digest']>,
  ctx: HandlerContext,
) {
  const infos = await deps.engine.queueInfo([...deps.queueNames]);
  const queues = [];
  for (const info of infos.filter((i) => i.counts.dead > 0)) {
    const letters = await deps.engine.listDeadLetters([info.name], payload.limit);
    const oldest = letters.map((l) => l.deadAt).sort()[0] ?? new Date().toISOString();
    queues.push({ queue: info.name, count: info.counts.dead, oldest });
  }
  if (queues.length === 0) {
    ctx.log.info('no dead letters: no digest sent');
    return { sent: false, queues: 0 };
  }
  const email = {
    name: 'email.send',
    data: {
      to: payload.to,
      template: 'dead-letter-digest',
      category: 'notification',
      vars: { queues, dashboardUrl: payload.dashboardUrl },
    },
  };
  const { job } = await deps.enqueue(email, { requestId: ctx.requestId, jobId: `digest-${ctx.jobId}` }).catch((err) => {
    throw err instanceof InvalidJobError ? new PermanentError(`digest email does not validate: ${err.message}`) : err;
  });
  return { sent: true, queues: queues.length, total: queues.reduce((n, q) => n + q.count, 0), emailJobId: job.id };
}

/** Trim finished jobs past retention and old dead letters, on an engine that does not expire them itself. */
export async function retentionCleanup(
  deps: HandlerDeps<OpsConfig>,
  payload: PayloadOf<Kinds['ops.retention-cleanup']>,
  ctx: HandlerContext,
) {
  const sweeper = deps.backend.retention;
  if (!sweeper) {
    ctx.log.info({ engine: deps.engine.kind }, 'retention cleanup: nothing to do for this engine (it expires jobs itself)');
    return { skipped: true };
  }
  const limits = {
    completedMaxAgeMs: deps.config.RETENTION_COMPLETED_SECONDS * 1000,
    failedMaxAgeMs: deps.config.RETENTION_FAILED_SECONDS * 1000,
    deadLetterMaxAgeMs: payload.deadLetterMaxAgeSeconds * 1000,
    limit: payload.limit,
  };
  const removed: Record<string, { completed: number; failed: number; deadLetters: number }> = {};
  for (const name of deps.queueNames) {
    if (ctx.signal.aborted) break;
    removed[name] = await sweeper.sweep(name, limits);
  }
  return { removed };
}
