// Schedule management as plain functions: the HTTP routes (scheduler/routes.ts) and the dashboard call
// these. They only touch the store and the engine, so any process (web included) can use them; running
// schedulers pick changes up within SCHEDULER_RELOAD_MS.
import { randomUUID } from 'node:crypto';
import type { Engine, JobState, JobView } from '../core/engine.ts';
import type { ErrorDetail } from '../core/validation.ts';
import { toEnqueueRequest } from '../workers/catalog.ts';
import type { Config } from '../workers/config.ts';
import { checkSchedule, type Schedule, type StoredSchedule, toSchedule } from './definition.ts';
import { ScheduleAdminError } from './schedule-admin-error.ts';
import { nextSlots } from './slots.ts';
import type { ScheduleStore } from './store.ts';

export { ScheduleAdminError };

export interface ScheduleAdminDeps {
  config: Config;
  engine: Engine;
  store: ScheduleStore;
  /** schedules declared in code (builtinSchedules(config)) */
  codeSchedules: StoredSchedule[];
  now?: () => number;
}

export interface ScheduleView {
  name: string;
  /** `code`: declared in code/config; `runtime`: created through the API (possibly overriding a code one) */
  source: 'code' | 'runtime';
  overridesCode: boolean;
  cron: string;
  timezone: string;
  job: StoredSchedule['job'];
  misfire: StoredSchedule['misfire'];
  enabled: boolean;
  description: string | null;
  /** false when the stored definition no longer validates (e.g. its job kind was removed); see problems */
  valid: boolean;
  problems: ErrorDetail[];
  nextRuns: string[];
  lastSlot: string | null;
  lastJob: { id: string; state: JobState | 'removed' } | null;
  updatedAt: string | null;
}

/** Code schedules overlaid by runtime ones of the same name. */
export function mergeSchedules(code: StoredSchedule[], runtime: StoredSchedule[]) {
  const out = new Map<string, { stored: StoredSchedule; source: Schedule['source']; overridesCode: boolean }>();
  for (const s of code) out.set(s.name, { stored: s, source: 'code', overridesCode: false });
  for (const s of runtime) out.set(s.name, { stored: s, source: 'runtime', overridesCode: out.has(s.name) });
  return out;
}

const iso = (ms: number | null | undefined) => (ms === null || ms === undefined ? null : new Date(ms).toISOString());

export async function listSchedules(deps: ScheduleAdminDeps, opts: { nextRuns?: number; name?: string } = {}): Promise<ScheduleView[]> {
  const now = (deps.now ?? Date.now)();
  const [runtime, states] = await Promise.all([deps.store.list(), deps.store.states()]);
  const merged = [...mergeSchedules(deps.codeSchedules, runtime).values()].filter((m) => !opts.name || m.stored.name === opts.name);
  merged.sort((a, b) => a.stored.name.localeCompare(b.stored.name));
  return Promise.all(
    merged.map(async ({ stored, source, overridesCode }) => {
      const ready = toSchedule(stored, source);
      const state = states.get(stored.name);
      let lastJob: ScheduleView['lastJob'] = null;
      if (state?.lastJobId) {
        const job = await deps.engine.getJob(state.lastJobId).catch(() => null);
        lastJob = { id: state.lastJobId, state: job?.state ?? 'removed' };
      }
      const next =
        ready.ok && stored.enabled
          ? nextSlots(ready.schedule.spec, stored.timezone, Math.max(now, stored.notBeforeMs), opts.nextRuns ?? 5)
          : [];
      return {
        name: stored.name,
        source,
        overridesCode,
        cron: stored.cron,
        timezone: stored.timezone,
        job: stored.job,
        misfire: stored.misfire,
        enabled: stored.enabled,
        description: stored.description ?? null,
        valid: ready.ok,
        problems: ready.ok ? [] : ready.details,
        nextRuns: next.map((t) => new Date(t).toISOString()),
        lastSlot: iso(state?.lastSlotMs),
        lastJob,
        updatedAt: stored.updatedAtMs ? iso(stored.updatedAtMs) : null,
      };
    }),
  );
}

export async function getSchedule(deps: ScheduleAdminDeps, name: string): Promise<ScheduleView> {
  const [view] = await listSchedules(deps, { name });
  if (!view) throw new ScheduleAdminError('not_found', `no schedule "${name}"`);
  return view;
}

/** Create or replace a runtime schedule. Slots before now never fire for the new definition. */
export async function putSchedule(
  deps: ScheduleAdminDeps,
  name: string,
  body: unknown,
): Promise<{ schedule: ScheduleView; created: boolean }> {
  const now = (deps.now ?? Date.now)();
  const checked = checkSchedule(name, body, now);
  if (!checked.ok) throw new ScheduleAdminError('invalid', 'the schedule is invalid', checked.details);
  const existing = (await deps.store.get(name)) ?? deps.codeSchedules.find((s) => s.name === name) ?? null;
  await deps.store.put(checked.schedule);
  return { schedule: await getSchedule(deps, name), created: existing === null };
}

/** Remove a runtime schedule (a code schedule it overrode comes back). Code schedules cannot be deleted. */
export async function deleteSchedule(deps: ScheduleAdminDeps, name: string): Promise<void> {
  const removed = await deps.store.remove(name);
  if (removed) return;
  if (deps.codeSchedules.some((s) => s.name === name)) {
    throw new ScheduleAdminError('conflict', `schedule "${name}" is declared in code: pause it, or disable it with SCHEDULES_DISABLED`);
  }
  throw new ScheduleAdminError('not_found', `no schedule "${name}"`);
}

async function current(deps: ScheduleAdminDeps, name: string): Promise<StoredSchedule> {
  const s = (await deps.store.get(name)) ?? deps.codeSchedules.find((c) => c.name === name);
  if (!s) throw new ScheduleAdminError('not_found', `no schedule "${name}"`);
  return s;
}

/** Pause or resume. Pausing a code schedule stores a runtime override; slots missed while paused never fire. */
export async function setScheduleEnabled(deps: ScheduleAdminDeps, name: string, enabled: boolean): Promise<ScheduleView> {
  const now = (deps.now ?? Date.now)();
  const s = await current(deps, name);
  if (s.enabled !== enabled) {
    await deps.store.put({ ...s, enabled, updatedAtMs: now, notBeforeMs: enabled ? now : s.notBeforeMs });
  }
  return getSchedule(deps, name);
}

/** Enqueue the schedule's job now (outside its slots), under a fresh id. */
export async function runScheduleNow(deps: ScheduleAdminDeps, name: string, meta: { requestId?: string } = {}): Promise<JobView> {
  const now = (deps.now ?? Date.now)();
  const s = await current(deps, name);
  const ready = toSchedule(s, 'runtime');
  if (!ready.ok) throw new ScheduleAdminError('invalid', `schedule "${name}" no longer validates`, ready.details);
  const jobId = `schedule-${name}-run-${randomUUID()}`;
  const { job } = await deps.engine.enqueue(toEnqueueRequest(ready.schedule.valid, deps.config, meta, now, jobId));
  await deps.store.recordFired(name, null, job.id);
  return job;
}
