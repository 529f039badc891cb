// What a schedule is, and the one validation every source goes through (code, config overrides,
// the HTTP API): cron, timezone, job kind and payload checked against the catalog, with field paths.
import { z } from 'zod';
import { type ErrorDetail, issuesToDetails } from '../core/validation.ts';
import { type ValidJob, validateJob } from '../workers/catalog.ts';
import type { MisfirePolicy } from './plan.ts';
import { CRON_MAX_LENGTH, type CronSpec, isValidTimezone, parseCron } from './slots.ts';

/** no `:` (BullMQ job ids), so `schedule-<name>-<slot ms>` stays a valid id in every engine */
export const scheduleNamePattern = /^[a-z0-9][a-z0-9_.-]{0,99}$/;

export const MISFIRE_MAX_LIMIT = 1000;

export const misfireSchema = z.union([
  z.enum(['skip', 'once', 'all']).transform((policy) => ({ policy, max: 100 })),
  z.strictObject({
    policy: z.enum(['skip', 'once', 'all']),
    /** `all` enqueues at most this many missed slots (the latest ones) */
    max: z.int().min(1).max(MISFIRE_MAX_LIMIT).default(100),
  }),
]);

/** The body of `PUT /v1/schedules/:name` (and of a schedule declared in code). */
export const scheduleBodySchema = z.strictObject({
  cron: z
    .string({ error: 'expects a cron expression, e.g. "0 3 * * *" or "*/10 * * * * *" (seconds first)' })
    .max(CRON_MAX_LENGTH, { error: `at most ${CRON_MAX_LENGTH} characters` }),
  timezone: z.string({ error: 'expects an IANA timezone, e.g. Europe/Berlin' }).max(64).default('UTC'),
  job: z.unknown(),
  misfire: misfireSchema.default({ policy: 'skip', max: 100 }),
  enabled: z.boolean().default(true),
  description: z.string().max(500).optional(),
});
export type ScheduleBody = z.input<typeof scheduleBodySchema>;

/** A stored schedule (what a ScheduleStore keeps, JSON-safe). */
export interface StoredSchedule {
  name: string;
  cron: string;
  timezone: string;
  job: { name: string; data: unknown; options: Record<string, unknown> };
  misfire: { policy: MisfirePolicy; max: number };
  enabled: boolean;
  description?: string;
  /** slots at or before this instant never fire (set on create, replace and resume) */
  notBeforeMs: number;
  updatedAtMs: number;
}

/** A validated, ready-to-fire schedule. */
export interface Schedule extends StoredSchedule {
  source: 'code' | 'runtime';
  spec: CronSpec;
  valid: ValidJob;
}

export type ScheduleCheck = { ok: true; schedule: StoredSchedule } | { ok: false; details: ErrorDetail[] };

/** Validate a schedule body for `name`; `now` stamps notBefore/updatedAt. */
export function checkSchedule(name: string, body: unknown, now: number): ScheduleCheck {
  const details: ErrorDetail[] = [];
  if (!scheduleNamePattern.test(name)) {
    details.push({ path: 'name', message: 'expects 1-100 lowercase letters, digits, _ . - (starting with a letter or digit)' });
  }
  const parsed = scheduleBodySchema.safeParse(body);
  if (!parsed.success) return { ok: false, details: [...details, ...issuesToDetails(parsed.error.issues)] };
  const b = parsed.data;
  const cron = parseCron(b.cron);
  if (!cron.ok) details.push({ path: 'cron', message: cron.message });
  if (!isValidTimezone(b.timezone)) details.push({ path: 'timezone', message: `unknown IANA timezone "${b.timezone}"` });
  const job = validateJob(b.job, 'job');
  if (!job.ok) details.push(...job.details);
  else {
    // an idempotency key would replace the per-slot job id; runAt names one instant, not one per slot
    if (job.job.options.idempotencyKey !== undefined) {
      details.push({ path: 'job.options.idempotencyKey', message: 'not allowed: each slot has its own job id' });
    }
    if (job.job.options.runAt !== undefined) details.push({ path: 'job.options.runAt', message: 'not allowed in a schedule; use delay' });
  }
  if (details.length > 0 || !job.ok) return { ok: false, details };
  const raw = b.job as { data?: unknown; options?: Record<string, unknown> };
  return {
    ok: true,
    schedule: {
      name,
      cron: b.cron,
      timezone: b.timezone,
      job: { name: job.job.name, data: raw.data ?? {}, options: raw.options ?? {} },
      misfire: b.misfire,
      enabled: b.enabled,
      description: b.description,
      notBeforeMs: now,
      updatedAtMs: now,
    },
  };
}

/** Turn a stored schedule into a ready one; the details say what no longer validates (e.g. a removed kind). */
export function toSchedule(
  stored: StoredSchedule,
  source: Schedule['source'],
): { ok: true; schedule: Schedule } | { ok: false; details: ErrorDetail[] } {
  const cron = parseCron(stored.cron);
  const job = validateJob({ name: stored.job.name, data: stored.job.data, options: stored.job.options }, 'job');
  const details: ErrorDetail[] = [];
  if (!cron.ok) details.push({ path: 'cron', message: cron.message });
  if (!isValidTimezone(stored.timezone)) details.push({ path: 'timezone', message: `unknown IANA timezone "${stored.timezone}"` });
  if (!job.ok) details.push(...job.details);
  if (!cron.ok || !job.ok || details.length > 0) return { ok: false, details };
  return { ok: true, schedule: { ...stored, source, spec: cron.spec, valid: job.job } };
}

export const slotJobId = (name: string, slotMs: number) => `schedule-${name}-${slotMs}`;
