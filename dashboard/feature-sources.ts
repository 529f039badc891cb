// Wires the scheduler into the dashboard's ScheduleSource seam. What the domains show (template previews,
// caught mail) comes from their manifests: workers/domains.ts dashboardSources.
import type { Backend } from '../core/backend.ts';
import { ApiError } from '../core/http/api-error.ts';
import { listSchedules, ScheduleAdminError, setScheduleEnabled } from '../scheduler/admin.ts';
import { scheduleAdminDeps } from '../scheduler/index.ts';
import type { Config } from '../workers/config.ts';
import type { ScheduleSource } from './features.ts';

/** Schedules from the backend's schedule store. */
export function schedulerSource(config: Config, backend: Backend): ScheduleSource {
  const deps = scheduleAdminDeps(config, backend);
  return {
    async list() {
      return (await listSchedules(deps, { nextRuns: 3 })).map((s) => ({
        name: s.name,
        kind: s.job.name,
        cron: s.cron,
        timezone: s.timezone,
        paused: !s.enabled,
        nextRuns: s.nextRuns,
        lastRun: s.lastSlot ? { at: s.lastSlot, jobId: s.lastJob?.id, state: s.lastJob?.state } : null,
      }));
    },
    pause: (name) => asHttp(setScheduleEnabled(deps, name, false)),
    resume: (name) => asHttp(setScheduleEnabled(deps, name, true)),
  };
}

/** The scheduler's refusals as the dashboard's 4xx (an unknown schedule is a 404, not a 500). */
async function asHttp(p: Promise<unknown>): Promise<void> {
  try {
    await p;
  } catch (err) {
    if (!(err instanceof ScheduleAdminError)) throw err;
    const status = { not_found: 404, invalid: 400, conflict: 409 }[err.kind];
    throw new ApiError(status, err.kind === 'invalid' ? 'invalid_request' : err.kind, err.message, err.details);
  }
}
