// Handlers for the ops.* kinds (built-in schedules): the dead-letter digest and retention cleanup.
import { PermanentError } from '../../core/errors/index.ts';
import { toEnqueueRequest, validateJob } from '../../producers/enqueue.ts';
import { isJobName, type Payload, queueNames } from '../catalog.ts';
import type { HandlerDeps, HandlerModule } from '../domains.ts';
import type { HandlerContext } from '../runtime.ts';

export const opsModule: HandlerModule = async (deps) => ({
  handlers: {
    'ops.dead-letter-digest': (payload, ctx) => deadLetterDigest(deps, payload, ctx),
    'ops.retention-cleanup': (payload, ctx) => retentionCleanup(deps, payload, ctx),
  },
  close: async () => {},
});

/** Count dead letters per queue; when there are any, enqueue one digest email (its id is tied to this job). */
export async function deadLetterDigest(deps: HandlerDeps, payload: Payload<'ops.dead-letter-digest'>, ctx: HandlerContext) {
  const infos = await deps.engine.queueInfo(queueNames);
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
  if (!isJobName('email.send')) throw new PermanentError('the email.send job kind is not in the catalog');
  const email = validateJob({
    name: 'email.send',
    data: {
      to: payload.to,
      template: 'dead-letter-digest',
      category: 'notification',
      vars: { queues, dashboardUrl: payload.dashboardUrl },
    },
  });
  if (!email.ok) {
    throw new PermanentError(`digest email does not validate: ${email.details.map((d) => `${d.path}: ${d.message}`).join('; ')}`);
  }
  const { job } = await deps.engine.enqueue(
    toEnqueueRequest(email.job, deps.config, { requestId: ctx.requestId }, Date.now(), `digest-${ctx.jobId}`),
  );
  return { sent: true, queues: queues.length, total: queues.reduce((n, q) => n + q.count, 0), emailJobId: job.id };
}

/** Trim finished jobs past retention and old dead letters, on an engine that does not expire them itself. */
export async function retentionCleanup(deps: HandlerDeps, payload: Payload<'ops.retention-cleanup'>, ctx: HandlerContext) {
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
  for (const name of queueNames) {
    if (ctx.signal.aborted) break;
    removed[name] = await sweeper.sweep(name, limits);
  }
  return { removed };
}
