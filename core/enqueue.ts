// The one enqueue path, over any table of job kinds: validate `{ name, data, options }` against the
// kinds' schemas, then turn it and the kind's defaults into the EnqueueRequest an engine stores.
// workers/catalog.ts binds it to the catalog; every producer (HTTP API, SDK in-process, scheduler) and
// every handler's follow-up enqueue go through that binding.
import { z } from 'zod';
import type { KernelConfig } from './config/index.ts';
import { parseDuration } from './duration.ts';
import type { EnqueueRequest, JobMeta } from './engine.ts';
import { PermanentError } from './errors/index.ts';
import { groupOption } from './groups/option.ts';
import type { Enqueue } from './handler.ts';
import type { JobDefinition } from './kinds.ts';
import { withTraceContext } from './tracing.ts';
import { enqueueUnique, type UniqueBackend } from './unique.ts';
import { type ErrorDetail, issuesToDetails } from './validation.ts';

const DAY = 86_400_000;

/** `{ key, ms }`: a uniqueness key and its window (throttle, debounce) */
const keyWindow = () =>
  z.strictObject({
    key: z.string().min(1).max(255),
    ms: z
      .int()
      .min(100)
      .max(30 * DAY),
  });
/** the furthest a job may be put off, by delay or runAt */
const MAX_DELAY_MS = 365 * DAY;
/** the longest time budget for retries (`retryFor`) */
const MAX_RETRY_FOR_MS = 30 * DAY;

const retryForSchema = z
  .union([
    z.int(),
    z
      .string()
      .regex(/^(\d+(ms|s|m|h|d)|P(\d+D)?(T(\d+H)?(\d+M)?(\d+S)?)?)$/, { error: 'expects ms, or a duration such as "6h" or "PT6H"' }),
  ])
  .transform((v, ctx) => {
    const ms = typeof v === 'number' ? v : parseDuration(v);
    if (ms === undefined || ms < 1_000 || ms > MAX_RETRY_FOR_MS) {
      ctx.addIssue({ code: 'custom', message: 'expects a duration from 1 s to 30 days (ms, or such as "6h" or "PT6H")' });
      return z.NEVER;
    }
    return ms;
  });

export const jobOptionsSchema = z
  .strictObject({
    priority: z.int().min(1).max(10).optional().describe('1 (most urgent) … 10'),
    delay: z.int().min(0).max(MAX_DELAY_MS).optional().describe('ms to wait before the job may run'),
    runAt: z.iso
      .datetime({ offset: true })
      .refine((v) => Date.parse(v) <= Date.now() + MAX_DELAY_MS, { error: 'at most 365 days ahead (as delay)' })
      .optional()
      .describe('ISO-8601 time at which the job may run (at most 365 days ahead)'),
    attempts: z.int().min(1).max(100).optional().describe('total runs, the first included'),
    idempotencyKey: z
      .string()
      .min(1)
      .max(255)
      .optional()
      .describe('a repeated key (per job kind, within IDEMPOTENCY_TTL_SECONDS) returns the existing job'),
    timeout: z.int().min(100).max(DAY).optional().describe('ms a run may take before its AbortSignal fires'),
    retryFor: retryForSchema
      .optional()
      .describe(
        'keep retrying a failing job for this long after its first failed attempt, attempts allowing (ms, or "6h", "PT6H"; 1 s … 30 days); docs/reliability.md',
      ),
    singletonKey: z
      .string()
      .min(1)
      .max(255)
      .optional()
      .describe('at most one job of this kind with this key waiting, delayed or active; a repeat returns it (docs/uniqueness.md)'),
    throttle: keyWindow()
      .optional()
      .describe('at most one job of this kind per key per fixed window of `ms`; extras return it (docs/uniqueness.md)'),
    debounce: keyWindow()
      .optional()
      .describe('repeats with this key collapse into one job that runs `ms` after the last, with its payload (docs/uniqueness.md)'),
    callback: z
      .strictObject({ url: z.url({ protocol: /^https?$/, error: 'expects an http(s) URL' }).max(2048) })
      .optional()
      .describe('POST job.completed / job.dead / job.cancelled here, signed (docs/webhooks.md); must match HTTP_TARGET_ALLOWLIST'),
    group: groupOption,
  })
  .refine((o) => o.delay === undefined || o.runAt === undefined, {
    path: ['runAt'],
    message: 'give delay or runAt, not both',
  })
  .superRefine((o, ctx) => {
    const given = (['idempotencyKey', 'singletonKey', 'throttle', 'debounce'] as const).filter((k) => o[k] !== undefined);
    if (given.length > 1) {
      ctx.addIssue({ code: 'custom', path: [given[1] as string], message: `give one of ${given.join(' and ')}, not both` });
    }
    if (o.group !== undefined && o.debounce !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['group'], message: 'a grouped job cannot be debounced (give group or debounce, not both)' });
    }
  });
export type JobOptions = z.infer<typeof jobOptionsSchema>;

export type KindTable = Readonly<Record<string, JobDefinition>>;

const envelopeSchema = z.strictObject({
  name: z.string({ error: 'expects a job kind name' }),
  data: z.unknown().optional(),
  options: z.unknown().optional(),
});

export interface ValidJob<N extends string = string> {
  name: N;
  data: unknown;
  options: JobOptions;
}

export type Validation<N extends string> = { ok: true; job: ValidJob<N> } | { ok: false; details: ErrorDetail[] };

/** Validate one `{ name, data, options }` against `kinds`; `prefix` roots the error paths (`jobs[3]`). */
export function validateJobIn<C extends KindTable>(kinds: C, body: unknown, prefix = ''): Validation<keyof C & string> {
  const at = (p: string) => (prefix ? `${prefix}.${p}` : p);
  const env = envelopeSchema.safeParse(body);
  if (!env.success) return { ok: false, details: issuesToDetails(env.error.issues, prefix) };
  const { name, data, options } = env.data;
  const details: ErrorDetail[] = [];
  // most requests carry no options: skip that parse on the bulk path
  const opts = options === undefined ? ({ success: true, data: {} } as const) : jobOptionsSchema.safeParse(options);
  if (!opts.success) details.push(...issuesToDetails(opts.error.issues, at('options')));
  if (!Object.hasOwn(kinds, name)) {
    details.unshift({ path: at('name'), message: `unknown job kind "${name}" (known: ${Object.keys(kinds).join(', ')})` });
    return { ok: false, details };
  }
  const payload = (kinds[name] as JobDefinition).payload.safeParse(data ?? {});
  if (!payload.success) details.push(...issuesToDetails(payload.error.issues, at('data')));
  if (!payload.success || !opts.success) return { ok: false, details };
  return { ok: true, job: { name, data: payload.data, options: opts.data } };
}

export type RetentionConfig = Pick<KernelConfig, 'RETENTION_COMPLETED_SECONDS' | 'RETENTION_FAILED_SECONDS'> &
  Partial<Pick<KernelConfig, 'RETENTION_COMPLETED_COUNT' | 'RETENTION_FAILED_COUNT'>>;

/** The kind's defaults + caller options → what the engine stores. `now` is a parameter for tests. */
export function enqueueRequestOf(
  def: JobDefinition,
  job: ValidJob,
  config: RetentionConfig,
  meta: JobMeta = {},
  now = Date.now(),
  jobId?: string,
): EnqueueRequest {
  const o = job.options;
  if (o.callback) meta = { ...meta, callbackUrl: o.callback.url };
  const delayMs = o.runAt !== undefined ? Math.max(0, Date.parse(o.runAt) - now) : (o.delay ?? 0);
  // the caller's group, else the kind's own choice (email: the recipient's domain); none with debounce
  const group = o.group ?? (o.debounce === undefined ? def.group?.(job.data, config as unknown as Record<string, unknown>) : undefined);
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
    meta: withTraceContext(
      {
        ...meta,
        ...(o.retryFor === undefined ? {} : { retryForMs: o.retryFor }),
        ...(group === undefined ? {} : { group }),
      },
      def.queue,
      job.name,
    ),
  };
}

/** A follow-up job that does not validate: permanent (a retry would not fix it). */
export class InvalidJobError extends PermanentError {
  override name = 'InvalidJobError';
  constructor(readonly details: ErrorDetail[]) {
    super(details.map((d) => `${d.path}: ${d.message}`).join('; '));
  }
}

/** The `enqueue` handlers are given (core/handler.ts): validates against `kinds`, enqueues on the backend's engine. */
export function enqueueFor(kinds: KindTable, backend: UniqueBackend, config: RetentionConfig): Enqueue {
  return async (job, meta = {}) => {
    const v = validateJobIn(kinds, job);
    if (!v.ok) throw new InvalidJobError(v.details);
    const def = kinds[v.job.name] as JobDefinition;
    const req = enqueueRequestOf(def, v.job, config, { requestId: meta.requestId }, Date.now(), meta.jobId);
    return enqueueUnique(backend, req, v.job.options);
  };
}
