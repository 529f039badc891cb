// The scheduler process: one node-cron task per enabled schedule fires at each slot; the slot's job is
// enqueued under the id `schedule-<name>-<slot ms>`, so replicas racing on one slot make one job.
// Every SCHEDULER_RELOAD_MS each replica re-reads the runtime schedules (create/change/pause/delete
// reach every replica) and runs a catch-up pass for slots older than SCHEDULER_CATCHUP_GRACE_MS that
// nobody handled (downtime, a replica that died mid-slot, a DST slot node-cron does not fire).

import cron, { type RunCoordinator, type ScheduledTask } from 'node-cron';
import type { Logger } from 'pino';
import type { Engine } from '../core/engine.ts';
import { toEnqueueRequest } from '../workers/catalog.ts';
import type { Config } from '../workers/config.ts';
import { mergeSchedules } from './admin.ts';
import { type Schedule, type StoredSchedule, slotJobId, toSchedule } from './definition.ts';
import { planSlots } from './plan.ts';
import { slotsBetween } from './slots.ts';
import type { ScheduleStore } from './store.ts';

export interface SchedulerOptions {
  config: Pick<
    Config,
    | 'SCHEDULER_RELOAD_MS'
    | 'SCHEDULER_CATCHUP_GRACE_MS'
    | 'SCHEDULER_MISFIRE_TOLERANCE_MS'
    | 'RETENTION_COMPLETED_SECONDS'
    | 'RETENTION_FAILED_SECONDS'
  >;
  logger: Logger;
  engine: Engine;
  store: ScheduleStore;
  coordinator: RunCoordinator;
  codeSchedules: StoredSchedule[];
  now?: () => number;
}

interface Active {
  schedule: Schedule;
  signature: string;
  task: ScheduledTask;
}

export class Scheduler {
  private readonly active = new Map<string, Active>();
  /** per-schedule chain: one firing at a time per schedule in this process */
  private readonly chains = new Map<string, Promise<void>>();
  private readonly invalidLogged = new Map<string, string>();
  /** the latest slot this process recorded per schedule (skips the fast path for handled slots) */
  private readonly recorded = new Map<string, number>();
  private readonly log: Logger;
  private readonly now: () => number;
  private timer: NodeJS.Timeout | undefined;
  private syncing: Promise<void> | undefined;
  private startedAt = 0;
  private stopped = false;

  constructor(private readonly opts: SchedulerOptions) {
    this.log = opts.logger.child({ component: 'scheduler' });
    this.now = opts.now ?? Date.now;
  }

  async start(): Promise<void> {
    this.startedAt = this.now();
    await this.sync();
    this.timer = setInterval(() => {
      if (this.syncing) return;
      this.syncing = this.sync()
        .catch((err) => this.log.warn({ err: (err as Error).message }, 'schedule reload failed; retrying'))
        .finally(() => {
          this.syncing = undefined;
        });
    }, this.opts.config.SCHEDULER_RELOAD_MS);
    this.log.info({ schedules: [...this.active.keys()] }, 'scheduler started');
  }

  /** Names of the schedules this replica is firing. */
  activeSchedules(): string[] {
    return [...this.active.keys()].sort();
  }

  /** Re-read schedules, (re)arm node-cron tasks, then enqueue slots nobody handled. */
  async sync(): Promise<void> {
    const runtime = await this.opts.store.list();
    const wanted = new Map<string, Schedule>();
    for (const { stored, source } of mergeSchedules(this.opts.codeSchedules, runtime).values()) {
      if (!stored.enabled) continue;
      const ready = toSchedule(stored, source);
      if (!ready.ok) {
        const msg = JSON.stringify(ready.details);
        if (this.invalidLogged.get(stored.name) !== msg) {
          this.invalidLogged.set(stored.name, msg);
          this.log.error({ schedule: stored.name, details: ready.details }, 'schedule no longer validates: not firing it');
        }
        continue;
      }
      wanted.set(stored.name, ready.schedule);
    }
    for (const [name, a] of this.active) {
      const w = wanted.get(name);
      if (!w || signature(w) !== a.signature) {
        await a.task.destroy();
        this.active.delete(name);
        if (!w) this.log.info({ schedule: name }, 'schedule stopped');
      }
    }
    for (const [name, schedule] of wanted) {
      const a = this.active.get(name);
      if (a) {
        a.schedule = schedule; // job payload/misfire changes need no new task
        continue;
      }
      if (this.stopped) return;
      this.active.set(name, { schedule, signature: signature(schedule), task: this.arm(schedule) });
      this.log.info({ schedule: name, cron: schedule.cron, timezone: schedule.timezone }, 'schedule armed');
    }
    // catch-up: slots old enough that node-cron's own firing should have handled them
    const states = await this.opts.store.states();
    const until = this.now() - this.opts.config.SCHEDULER_CATCHUP_GRACE_MS;
    await Promise.all([...this.active.keys()].map((name) => this.fire(name, until, states.get(name)?.lastSlotMs ?? null, 'catch-up')));
  }

  private arm(schedule: Schedule): ScheduledTask {
    const log = this.log.child({ schedule: schedule.name });
    const task = cron.createTask(
      schedule.cron,
      async (ctx) => {
        // node-cron may wake a hair before the slot's millisecond; its slot time is a floor for "now"
        const now = Math.max(this.now(), ctx.date.getTime());
        await this.fire(schedule.name, now, undefined, 'cron', ctx.date.getTime());
      },
      {
        name: schedule.name,
        timezone: schedule.timezone,
        distributed: true,
        runCoordinator: this.opts.coordinator,
        distributedLease: 60_000,
        suppressMissedWarning: true,
        logger: {
          info: (m) => log.debug(m),
          warn: (m) => log.warn(m),
          error: (m, err) => log.error({ err: err?.message ?? (m instanceof Error ? m.message : undefined) }, String(m)),
          debug: (m) => log.debug(String(m)),
        },
      },
    );
    void task.start();
    return task;
  }

  /** Plan and enqueue due slots of one schedule at `nowMs` (serialized per schedule in this process). */
  fire(name: string, nowMs: number, knownLast: number | null | undefined, trigger: 'cron' | 'catch-up', cronSlot?: number): Promise<void> {
    const prev = this.chains.get(name) ?? Promise.resolve();
    const next = prev.then(() => this.fireNow(name, nowMs, knownLast, trigger, cronSlot));
    const settled = next.catch((err) => {
      this.log.warn({ schedule: name, trigger, err: (err as Error).message }, 'could not enqueue slot; retrying on the next pass');
    });
    this.chains.set(name, settled);
    void settled.finally(() => {
      if (this.chains.get(name) === settled) this.chains.delete(name);
    });
    return settled;
  }

  private async fireNow(name: string, nowMs: number, knownLast: number | null | undefined, trigger: string, cronSlot?: number) {
    const a = this.active.get(name);
    if (!a || this.stopped) return;
    const s = a.schedule;
    // fast path: enqueue node-cron's slot first (when it is one of ours), the bookkeeping read comes after
    const done = new Set<number>();
    if (cronSlot !== undefined && cronSlot > s.notBeforeMs && cronSlot > (this.recorded.get(name) ?? Number.NEGATIVE_INFINITY)) {
      if (slotsBetween(s.spec, s.timezone, cronSlot - 1, cronSlot).length === 1) {
        await this.enqueueSlot(s, cronSlot, trigger);
        done.add(cronSlot);
      }
    }
    const last = knownLast !== undefined ? knownLast : ((await this.opts.store.states()).get(name)?.lastSlotMs ?? null);
    // a code schedule that never fired starts counting when this scheduler started
    const notBeforeMs = s.source === 'code' && last === null ? Math.max(s.notBeforeMs, this.startedAt) : s.notBeforeMs;
    const plan = planSlots({
      spec: s.spec,
      timezone: s.timezone,
      misfire: s.misfire,
      lastSlotMs: last,
      notBeforeMs,
      nowMs,
      toleranceMs: this.opts.config.SCHEDULER_MISFIRE_TOLERANCE_MS,
    });
    if (plan.latest === null) return;
    let lastJobId: string | null = null;
    for (const slot of plan.enqueue) lastJobId = done.has(slot) ? slotJobId(name, slot) : await this.enqueueSlot(s, slot, trigger);
    if (plan.skipped > 0) {
      this.log.warn({ schedule: name, skipped: plan.skipped, policy: s.misfire.policy }, 'missed slots left out by the misfire policy');
    }
    await this.opts.store.recordFired(name, plan.latest, lastJobId);
    this.recorded.set(name, Math.max(plan.latest, this.recorded.get(name) ?? Number.NEGATIVE_INFINITY));
  }

  private async enqueueSlot(s: Schedule, slot: number, trigger: string): Promise<string> {
    const req = toEnqueueRequest(s.valid, this.opts.config, { requestId: `schedule-${s.name}` }, this.now(), slotJobId(s.name, slot));
    const { job, created } = await this.opts.engine.enqueue(req);
    if (created) this.log.debug({ schedule: s.name, slot: new Date(slot).toISOString(), jobId: job.id, trigger }, 'slot enqueued');
    return job.id;
  }

  /** Stop firing; waits for slots being enqueued. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await Promise.all([...this.active.values()].map((a) => a.task.destroy()));
    this.active.clear();
    await this.syncing;
    await Promise.all([...this.chains.values()]);
  }
}

const signature = (s: Schedule) => JSON.stringify([s.cron, s.timezone]);
