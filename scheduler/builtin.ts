// Schedules declared in code by the domains (their manifests' `schedules`, e.g. ops housekeeping). Each
// can be changed or disabled by config (SCHEDULES_OVERRIDES, SCHEDULES_DISABLED) or paused/overridden at
// runtime through the API.
import { z } from 'zod';
import { issuesToDetails } from '../core/validation.ts';
import type { Config } from '../workers/config.ts';
import { declaredSchedules } from '../workers/domains.ts';
import { checkSchedule, misfireSchema, type StoredSchedule } from './definition.ts';
import { ScheduleConfigError } from './schedule-config-error.ts';

const overridesSchema = z.record(
  z.string(),
  z.strictObject({
    cron: z.string().optional(),
    timezone: z.string().optional(),
    misfire: misfireSchema.optional(),
    enabled: z.boolean().optional(),
    /** replaces the job's data */
    data: z.record(z.string(), z.unknown()).optional(),
  }),
);

/** The built-in schedules after config; throws ScheduleConfigError naming the schedule or variable. */
export function builtinSchedules(config: Config): StoredSchedule[] {
  const list = declaredSchedules(config);
  const names = new Set(list.map((d) => d.name));
  let overrides: z.infer<typeof overridesSchema> = {};
  if (config.SCHEDULES_OVERRIDES) {
    let raw: unknown;
    try {
      raw = JSON.parse(config.SCHEDULES_OVERRIDES);
    } catch {
      throw new ScheduleConfigError('SCHEDULES_OVERRIDES', [{ path: 'SCHEDULES_OVERRIDES', message: 'expects a JSON object' }]);
    }
    const parsed = overridesSchema.safeParse(raw);
    if (!parsed.success) throw new ScheduleConfigError('SCHEDULES_OVERRIDES', issuesToDetails(parsed.error.issues, 'SCHEDULES_OVERRIDES'));
    overrides = parsed.data;
  }
  for (const [variable, given] of [
    ['SCHEDULES_OVERRIDES', Object.keys(overrides)],
    ['SCHEDULES_DISABLED', config.SCHEDULES_DISABLED],
  ] as const) {
    for (const name of given) {
      if (names.has(name)) continue;
      throw new ScheduleConfigError(name, [
        { path: variable, message: `no built-in schedule "${name}" (known: ${[...names].join(', ')})` },
      ]);
    }
  }
  // a schedule this deployment cannot run (its database unset) may be named above, but is never fired
  return list.flatMap((d) => {
    if (d.unavailable !== undefined) return [];
    const o = overrides[d.name] ?? {};
    const body = {
      cron: o.cron ?? d.cron,
      timezone: o.timezone ?? config.SCHEDULER_TIMEZONE,
      job: { name: d.job.name, data: o.data ?? d.job.data },
      misfire: o.misfire ?? d.misfire,
      enabled: !config.SCHEDULES_DISABLED.includes(d.name) && (o.enabled ?? true),
      description: d.description,
    };
    const checked = checkSchedule(d.name, body, 0);
    if (!checked.ok) throw new ScheduleConfigError(d.name, checked.details);
    return [checked.schedule];
  });
}
