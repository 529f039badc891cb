// BullMQ jobs in and out of the seam's shapes: job options from an enqueue request, a JobView from a
// BullMQ job, ids of idempotent jobs and of dead letters.
import { createHash } from 'node:crypto';
import type { Job, JobsOptions, Queue } from 'bullmq';
import type { EnqueueRequest, JobMeta, JobState, JobView } from '../../engine.ts';
import { dlqName, splitEnvelope, unparked } from '../shared.ts';

/** The backoff type of our jobs: the consumer's strategy returns the delay the executor decided. */
export const BACKOFF_TYPE = 'conveyor';
/** failedReason of a job that was cancelled while it ran */
export const CANCELLED_PREFIX = '[cancelled]';

/** The hash behind an idempotency key: names its Redis record and, as `idem-<hash>`, its job. */
export const idempotencyHash = (name: string, key: string) => createHash('sha256').update(`${name}\0${key}`).digest('hex').slice(0, 40);
/** The job id a job enqueued with this kind and idempotency key has. */
export const idempotencyJobId = (name: string, key: string) => `idem-${idempotencyHash(name, key)}`;
/** BullMQ refuses integer custom ids, and plain BullMQ producers get integer ids: prefix those. */
export const dlqId = (id: string) => (/^\d+$/.test(id) ? `bullmq-${id}` : id);

/**
 * BullMQ keeps a job's hash at `<prefix>:<queue>:<id>` beside the queue's own keys (`meta`, `wait`, `events`,
 * … bullmq's QueueKeys) and a job's sub-keys (`<id>:lock`, `<id>:logs`): an id that is one of those names,
 * or holds a `:` (BullMQ refuses custom ids with one), would address a key that is not a job. Reads and
 * writes by a caller's id check it first.
 */
const KEY_NAMES = new Set([
  'active',
  'wait',
  'waiting-children',
  'paused',
  'id',
  'delayed',
  'prioritized',
  'stalled-check',
  'completed',
  'failed',
  'stalled',
  'repeat',
  'limiter',
  'meta',
  'events',
  'pc',
  'marker',
  'de',
  'metrics',
]);
export const isJobId = (id: string) => id.length > 0 && id.length <= 512 && !id.includes(':') && !KEY_NAMES.has(id);

/** Payload and meta of a BullMQ job's data (a plain BullMQ producer's job has no meta). */
export const splitData = (data: unknown) => splitEnvelope<JobMeta>(data, () => ({}));

/**
 * `idempotencyTtlSeconds`: a job with an idempotency key is kept at least that long whatever its kind's
 * retention, so a repeat within IDEMPOTENCY_TTL_SECONDS always finds it (docs/uniqueness.md).
 */
export function toJobOptions(req: EnqueueRequest, jobId: string, idempotencyTtlSeconds = 0): JobsOptions {
  const keyed = req.idempotencyKey !== undefined;
  // BullMQ trims a queue's finished jobs by the age of whichever job finishes, so every job's age is at
  // least the TTL: a kind kept shorter would otherwise drop the keyed jobs finished before it
  const keep = (s: number) => Math.max(s, idempotencyTtlSeconds);
  return {
    jobId,
    priority: req.priority,
    delay: req.delayMs > 0 ? req.delayMs : undefined,
    attempts: req.attempts,
    backoff: { type: BACKOFF_TYPE, delay: req.backoff.baseMs },
    // Jobs with an idempotency key are only trimmed by age (≥ IDEMPOTENCY_TTL_SECONDS, checked at boot), so a
    // repeated key always finds its job; a count trim could drop it early and let the repeat run it again.
    removeOnComplete: { age: keep(req.retention.completedSeconds), count: keyed ? undefined : req.retention.completedCount },
    removeOnFail: { age: keep(req.retention.failedSeconds), count: keyed ? undefined : req.retention.failedCount },
    // ...but it also trims by count whichever job finishes, keyed or not: the key's own record (BullMQ's
    // deduplication key, `<queue>:de:<id>`, kept the TTL and untouched by those trims) keeps a repeat from
    // making the job again once the job itself is gone (add.ts answers IdempotencyKeyUsedError then)
    ...(keyed && idempotencyTtlSeconds > 0 ? { deduplication: { id: jobId, ttl: idempotencyTtlSeconds * 1000 } } : {}),
    stackTraceLimit: 5,
  };
}

const iso = (ms: number | undefined | null) => (ms ? new Date(ms).toISOString() : null);

function errorOf(job: Job): JobView['error'] {
  if (!job.failedReason) return null;
  const stack = job.stacktrace?.at(-1) ?? undefined;
  return { message: job.failedReason, stack };
}

async function mapState(job: Job, raw: string, queue: (name: string) => Queue): Promise<JobState> {
  switch (raw) {
    case 'delayed':
      return 'delayed';
    case 'active':
      return 'active';
    case 'completed':
      return 'completed';
    case 'failed': {
      if (job.failedReason?.startsWith(CANCELLED_PREFIX)) return 'cancelled';
      const dead = await queue(dlqName(job.queueName)).getJobState(dlqId(String(job.id)));
      return dead === 'unknown' ? 'failed' : 'dead';
    }
    default:
      return 'waiting'; // waiting, prioritized, paused, waiting-children
  }
}

/** The JobView of a BullMQ job. `knownState` skips a round trip when the caller just created the job. */
export async function viewOf(job: Job, queue: (name: string) => Queue, knownState?: JobState): Promise<JobView> {
  let state: JobState;
  if (knownState) state = knownState;
  else {
    const raw = await job.getState();
    if ((raw === 'completed' || raw === 'failed') && !job.finishedOn) {
      // the job finished between reading its hash and its state: read the hash again
      job = (await queue(job.queueName).getJob(String(job.id))) ?? job;
    }
    state = await mapState(job, raw, queue);
  }
  return viewIn(job, state);
}

/** The JobView of a BullMQ job in a known state. */
function viewIn(job: Job, state: JobState): JobView {
  const { payload, meta } = splitData(job.data);
  const storedRunAt = (meta as { runAt?: unknown }).runAt;
  return unparked(view(), meta);
  function view(): JobView {
    return {
      id: String(job.id),
      name: job.name,
      queue: job.queueName,
      state,
      priority: job.priority || job.opts.priority || 0,
      data: payload,
      attempts: { made: job.attemptsStarted ?? job.attemptsMade, max: Math.max(1, job.opts.attempts ?? 1) },
      progress: job.progress ?? null,
      result: job.returnvalue ?? null,
      error: state === 'completed' ? null : errorOf(job),
      createdAt: new Date(job.timestamp).toISOString(),
      startedAt: iso(job.processedOn),
      finishedAt: iso(job.finishedOn),
      // while delayed, BullMQ's own delay; once it came due (BullMQ zeroes it), the time kept in our meta
      // BullMQ's changeDelay (a debounce's replace) counts the new delay from now but keeps the job's
      // timestamp, so timestamp + delay is early by then; the meta's runAt was rewritten with it: the later wins
      runAt:
        job.delay > 0
          ? new Date(Math.max(job.timestamp + job.delay, typeof storedRunAt === 'number' ? storedRunAt : 0)).toISOString()
          : typeof storedRunAt === 'number'
            ? new Date(storedRunAt).toISOString()
            : null,
      ...(meta.callbackUrl ? { callback: { url: meta.callbackUrl } } : {}),
      ...(meta.group === undefined ? {} : { group: meta.group }),
    };
  }
}
