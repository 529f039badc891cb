// The one enqueue path: every producer (HTTP API, SDK in-process, scheduler) validates against the
// catalog here and hands the engine a complete EnqueueRequest.
import { z } from 'zod';
import type { EnqueueRequest, JobMeta } from '../core/engine.ts';
import { withTraceContext } from '../core/tracing.ts';
import { type ErrorDetail, issuesToDetails } from '../core/validation.ts';
import { catalog, isJobName, type JobName, jobNames } from '../workers/catalog.ts';
import type { Config } from '../workers/config.ts';

const DAY = 86_400_000;

export const jobOptionsSchema = z
  .strictObject({
    priority: z.int().min(1).max(10).optional().describe('1 (most urgent) … 10'),
    delay: z
      .int()
      .min(0)
      .max(365 * DAY)
      .optional()
      .describe('ms to wait before the job may run'),
    runAt: z.iso.datetime({ offset: true }).optional().describe('ISO-8601 time at which the job may run'),
    attempts: z.int().min(1).max(100).optional().describe('total runs, the first included'),
    idempotencyKey: z
      .string()
      .min(1)
      .max(255)
      .optional()
      .describe('a repeated key (per job kind, within IDEMPOTENCY_TTL_SECONDS) returns the existing job'),
    timeout: z.int().min(100).max(DAY).optional().describe('ms a run may take before its AbortSignal fires'),
  })
  .refine((o) => o.delay === undefined || o.runAt === undefined, {
    path: ['runAt'],
    message: 'give delay or runAt, not both',
  });
export type JobOptions = z.infer<typeof jobOptionsSchema>;

const envelopeSchema = z.strictObject({
  name: z.string({ error: 'expects a job kind name' }),
  data: z.unknown().optional(),
  options: z.unknown().optional(),
});

export interface ValidJob {
  name: JobName;
  data: unknown;
  options: JobOptions;
}

/** Validate one `{ name, data, options }`; `prefix` roots the error paths (`jobs[3]`). */
export function validateJob(body: unknown, prefix = ''): { ok: true; job: ValidJob } | { ok: false; details: ErrorDetail[] } {
  const at = (p: string) => (prefix ? `${prefix}.${p}` : p);
  const env = envelopeSchema.safeParse(body);
  if (!env.success) return { ok: false, details: issuesToDetails(env.error.issues, prefix) };
  const { name, data, options } = env.data;
  const details: ErrorDetail[] = [];
  // most requests carry no options: skip that parse on the bulk path
  const opts = options === undefined ? ({ success: true, data: {} } as const) : jobOptionsSchema.safeParse(options);
  if (!opts.success) details.push(...issuesToDetails(opts.error.issues, at('options')));
  if (!isJobName(name)) {
    details.unshift({ path: at('name'), message: `unknown job kind "${name}" (known: ${jobNames.join(', ')})` });
    return { ok: false, details };
  }
  const payload = catalog[name].payload.safeParse(data ?? {});
  if (!payload.success) details.push(...issuesToDetails(payload.error.issues, at('data')));
  if (!payload.success || !opts.success) return { ok: false, details };
  return { ok: true, job: { name, data: payload.data, options: opts.data } };
}

/** Catalog defaults + caller options → what the engine stores. `now` is a parameter for tests. */
export function toEnqueueRequest(
  job: ValidJob,
  config: Pick<Config, 'RETENTION_COMPLETED_SECONDS' | 'RETENTION_FAILED_SECONDS'> &
    Partial<Pick<Config, 'RETENTION_COMPLETED_COUNT' | 'RETENTION_FAILED_COUNT'>>,
  meta: JobMeta = {},
  now = Date.now(),
  jobId?: string,
): EnqueueRequest {
  const def = catalog[job.name];
  const o = job.options;
  const delayMs = o.runAt !== undefined ? Math.max(0, Date.parse(o.runAt) - now) : (o.delay ?? 0);
  return {
    name: job.name,
    queue: def.queue,
    data: job.data,
    priority: o.priority ?? def.defaults.priority,
    delayMs,
    attempts: o.attempts ?? def.defaults.attempts,
    backoff: def.defaults.backoff,
    timeoutMs: o.timeout ?? def.defaults.timeoutMs,
    idempotencyKey: o.idempotencyKey,
    jobId,
    retention: {
      completedSeconds: def.defaults.retention?.completedSeconds ?? config.RETENTION_COMPLETED_SECONDS,
      failedSeconds: def.defaults.retention?.failedSeconds ?? config.RETENTION_FAILED_SECONDS,
      completedCount: config.RETENTION_COMPLETED_COUNT,
      failedCount: config.RETENTION_FAILED_COUNT,
    },
    meta: withTraceContext(meta, def.queue, job.name),
  };
}
