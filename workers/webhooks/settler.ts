// The worker's settler for completion webhooks (core/executor.ts Settler): after a run's outcome is decided
// and before the engine stores it, a completed, dead or cancelled run becomes job.completed / job.dead /
// job.cancelled for its receivers (its options.callback, matching subscriptions). The deliveries are
// enqueued here, with deterministic ids, so a re-run after a crash between this and the engine's write
// enqueues nothing new; and the job never waits for a receiver, only for the enqueue. Retries are no event.
import type { Backend } from '../../core/backend.ts';
import type { ConsumedJob, JobView, Outcome } from '../../core/engine.ts';
import type { Settler } from '../../core/executor.ts';
import { jobEventData, type WebhookSettings, webhookEvents } from '../../core/outbound/events.ts';

const TYPES = { completed: 'job.completed', dead: 'job.dead', cancelled: 'job.cancelled' } as const;

/** The job as GET /v1/jobs/:id will show it once the engine has stored `outcome`. */
export function settledView(job: ConsumedJob, outcome: Exclude<Outcome, { status: 'retry' }>, stored: JobView | null): JobView {
  const now = new Date().toISOString();
  const base: JobView = stored ?? {
    id: job.id,
    name: job.name,
    queue: job.queue,
    state: 'active',
    priority: 5,
    data: job.data,
    attempts: { made: job.attempt, max: job.maxAttempts },
    progress: null,
    result: null,
    error: null,
    createdAt: now,
    startedAt: null,
    finishedAt: null,
    runAt: null,
    ...(job.meta.callbackUrl ? { callback: { url: job.meta.callbackUrl } } : {}),
  };
  const failed = outcome.status !== 'completed';
  return {
    ...base,
    state: outcome.status,
    attempts: { made: job.attempt, max: job.maxAttempts },
    result: outcome.status === 'completed' ? outcome.result : null,
    error: failed ? { message: outcome.error.message, name: outcome.error.name } : null,
    finishedAt: now,
  };
}

export function webhookSettler(backend: Backend, settings: WebhookSettings): Settler {
  const events = webhookEvents(backend, settings);
  return (job, outcome) => {
    if (outcome.status === 'retry') return;
    const type = TYPES[outcome.status];
    const subject = { id: job.id, kind: job.name, queue: job.queue, callbackUrl: job.meta.callbackUrl };
    if (events.knownUnreceived(type, subject)) return; // the hot path: no promise for a run nobody hears of
    return events
      .emit(type, subject, async () => jobEventData(settledView(job, outcome, await backend.engine.getJob(job.id))))
      .then(() => {});
  };
}
