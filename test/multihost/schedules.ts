// A few runtime schedules (every 2, 3 and 10 seconds) created over the API at the start of the traffic and
// paused at its end. Each slot's job id is deterministic (`schedule-<name>-<slot ms>`), so the run can name
// every slot that should have fired and read it back: a missing one is a lost slot.
import type { Api } from './verify.ts';

interface Def {
  name: string;
  everySeconds: number;
  job: { name: string; data: Record<string, unknown> };
}

const DEFS: Def[] = [
  { name: 'mh-tick', everySeconds: 2, job: { name: 'diagnostics.noop', data: { note: 'scheduled' } } },
  { name: 'mh-sleep', everySeconds: 3, job: { name: 'diagnostics.sleep', data: { ms: 300, tag: 'scheduled' } } },
  {
    name: 'mh-mail',
    everySeconds: 10,
    job: {
      name: 'email.send',
      data: { template: 'welcome', to: 'ops@example.test', vars: { name: 'Ops', loginUrl: 'https://app.example.test/login' } },
    },
  },
];

/** after creation the scheduler needs a reload (1 s) to see a schedule; before a pause, allow a catch-up pass (3 s) */
const AFTER_CREATE_MS = 1_000;
const BEFORE_PAUSE_MS = 3_500;

export interface ScheduleRun {
  name: string;
  kind: string;
  createdAt: number;
  pausedAt?: number;
}

export async function createSchedules(api: Api): Promise<ScheduleRun[]> {
  const out: ScheduleRun[] = [];
  for (const d of DEFS) {
    const r = await api.call('PUT', `/v1/schedules/${d.name}`, {
      cron: `*/${d.everySeconds} * * * * *`,
      timezone: 'UTC',
      job: d.job,
      misfire: 'all',
    });
    if (r.status !== 201 && r.status !== 200) throw new Error(`PUT /v1/schedules/${d.name}: HTTP ${r.status} ${JSON.stringify(r.json)}`);
    out.push({ name: d.name, kind: d.job.name, createdAt: Date.now() });
  }
  return out;
}

export async function pauseSchedules(api: Api, runs: ScheduleRun[]): Promise<void> {
  for (const s of runs) {
    const r = await api.call('POST', `/v1/schedules/${s.name}/pause`);
    if (r.status !== 200) throw new Error(`pause ${s.name}: HTTP ${r.status} ${JSON.stringify(r.json)}`);
    s.pausedAt = Date.now();
  }
}

/** every slot well inside [created, paused]: its job id and kind */
export function expectedSlots(runs: ScheduleRun[]): { id: string; kind: string; schedule: string }[] {
  const out: { id: string; kind: string; schedule: string }[] = [];
  for (const s of runs) {
    const def = DEFS.find((d) => d.name === s.name) as Def;
    const step = def.everySeconds * 1000;
    const from = Math.ceil((s.createdAt + AFTER_CREATE_MS) / step) * step;
    for (let t = from; t <= (s.pausedAt ?? 0) - BEFORE_PAUSE_MS; t += step)
      out.push({ id: `schedule-${s.name}-${t}`, kind: s.kind, schedule: s.name });
  }
  return out;
}
