// Wires the scheduler into the dashboard's ScheduleSource seam. What the domains show (template previews,
// caught mail) comes from their manifests: workers/domains.ts dashboardSources.
import type { Backend } from '../core/backend.ts';
import { listSchedules, setScheduleEnabled } from '../scheduler/admin.ts';
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
    async pause(name) {
      await setScheduleEnabled(deps, name, false);
    },
    async resume(name) {
      await setScheduleEnabled(deps, name, true);
    },
  };
}
