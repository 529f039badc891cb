// The scheduler process (scheduler/, docs/scheduler.md).
import { z } from 'zod';
import { int } from './fields.ts';
import { defineSection } from './section.ts';

const isTimezone = (tz: string) => {
  try {
    return /^[A-Za-z]/.test(tz) && !!new Intl.DateTimeFormat('en-US', { timeZone: tz });
  } catch {
    return false;
  }
};

export const schedulerSection = defineSection('scheduler', {
  SCHEDULER_RELOAD_MS: int(100, 60_000).default(1_000),
  SCHEDULER_CATCHUP_GRACE_MS: int(0, 60_000).default(2_000),
  SCHEDULER_MISFIRE_TOLERANCE_MS: int(1_000, 86_400_000).default(60_000),
  SCHEDULER_TIMEZONE: z.string().refine(isTimezone, { error: 'expects an IANA timezone, e.g. UTC or Europe/Berlin' }).default('UTC'),
  SCHEDULES_DISABLED: z
    .string()
    .regex(/^[a-z0-9][a-z0-9_.-]*(,[a-z0-9][a-z0-9_.-]*)*$/, { error: 'expects a comma list of schedule names' })
    .transform((s) => s.split(','))
    .default([]),
  /** JSON `{ "<built-in name>": { "cron"?, "timezone"?, "misfire"?, "enabled"?, "data"? } }`, checked when the scheduler starts */
  SCHEDULES_OVERRIDES: z.string().optional(),
});
