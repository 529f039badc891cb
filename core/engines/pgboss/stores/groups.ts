// Group limits on Postgres (core/groups/, docs/groups.md), in the engine's schema beside pg-boss's job table:
// conveyor_group (override, rate state; its row lock orders a group's steps) and conveyor_group_job (parked
// and released jobs). Each step is one call of conveyor_group_step (sql/groups-create.sql), one transaction:
// park or free, then release what fits by making parked job rows due (at their rate slot, by the database
// clock) and NOTIFYing the consumers, so a slot and its job's release cannot be split by a crash.
import { FreeBatcher, type Slot } from '../../../groups/batch.ts';
import type { GroupCounts, GroupDefaults, GroupOverride, GroupStore, HeldSlot } from '../../../groups/types.ts';
import { toUuid } from '../ids.ts';
import { type StoreStatements, storeStatements } from './sql.ts';
import { ensureTables, type PgStore } from './tables.ts';

export interface PgGroupDeps extends PgStore {
  /** pg-boss's job-created channel (its consumers LISTEN on it) */
  readonly bossChannel: string;
  /** wake this process's consumers of `queue` in `ms` (a job released to a later rate slot) */
  wakeAfter(queue: string, ms: number): void;
}

export class PostgresGroupStore implements GroupStore {
  private readonly sql: StoreStatements;
  private readonly frees = new FreeBatcher((queue, slots) => this.freeMany(queue, slots));

  constructor(
    private readonly store: PgGroupDeps,
    readonly defaults: (queue: string) => GroupDefaults,
  ) {
    this.sql = storeStatements(store.schema);
  }

  private async q<R extends object>(text: string, values: unknown[]) {
    await ensureTables(this.store, this.sql['groups-create']);
    return this.store.pool.query<R>(text, values);
  }

  private async step(queue: string, group: string, mode: 'park' | 'fill', ids: string[] = [], delays: number[] = []) {
    const d = this.defaults(queue);
    const { rows } = await this.q<{ r: { freed: boolean; delays: number[] } }>(this.sql['groups-step'], [
      queue,
      group,
      d.concurrency,
      d.ratePerSecond,
      mode,
      ids.map(toUuid),
      delays,
      this.store.bossChannel,
    ]);
    const r = rows[0]?.r ?? { freed: false, delays: [] };
    this.wakeLater(queue, r.delays);
    return r.freed;
  }

  /** NOTIFY wakes every consumer for jobs due now; one released to a later rate slot is picked up by a timer here */
  private wakeLater(queue: string, delays: number[]) {
    const later = new Set(delays.filter((ms) => ms > 0).map((ms) => Math.ceil(ms)));
    for (const ms of later) this.store.wakeAfter(queue, ms + 5);
  }

  async parkMany(queue: string, jobs: { group: string; id: string; delayMs: number }[]) {
    if (jobs.length === 0) return;
    const d = this.defaults(queue);
    const { rows } = await this.q<{ r: { delays: number[] } }>(this.sql['groups-park-many'], [
      queue,
      d.concurrency,
      d.ratePerSecond,
      jobs.map((j) => j.group),
      jobs.map((j) => toUuid(j.id)),
      jobs.map((j) => Math.max(0, j.delayMs)),
      this.store.bossChannel,
    ]);
    this.wakeLater(
      queue,
      rows.flatMap((row) => row.r.delays),
    );
  }

  private async freeMany(queue: string, slots: Slot[]): Promise<boolean[]> {
    const d = this.defaults(queue);
    const { rows } = await this.q<{ k: string; r: { freed: boolean; delays: number[] } }>(this.sql['groups-free-many'], [
      queue,
      d.concurrency,
      d.ratePerSecond,
      slots.map((s) => s.group),
      slots.map((s) => toUuid(s.id)),
      this.store.bossChannel,
    ]);
    const freed = slots.map(() => false);
    for (const row of rows) {
      freed[Number(row.k) - 1] = row.r.freed;
      this.wakeLater(queue, row.r.delays);
    }
    return freed;
  }

  async park(queue: string, group: string, jobs: { id: string; delayMs: number }[]) {
    if (jobs.length === 0) return;
    await this.step(
      queue,
      group,
      'park',
      jobs.map((j) => j.id),
      jobs.map((j) => Math.max(0, j.delayMs)),
    );
  }

  free(queue: string, group: string, id: string) {
    return this.frees.free({ queue, group, id });
  }

  async fill(queue: string, group: string) {
    await this.step(queue, group, 'fill');
  }

  async groups(queue: string) {
    return (await this.counts(queue)).map((c) => c.group);
  }

  async counts(queue: string, groups?: string[]): Promise<GroupCounts[]> {
    const { rows } = await this.q<{ grp: string; waiting: number; active: number; oldest_s: number }>(this.sql['groups-counts'], [
      queue,
      groups ?? null,
    ]);
    return rows.map((r) => ({ group: r.grp, waiting: r.waiting, active: r.active, oldestWaitingAgeSeconds: r.oldest_s }));
  }

  async heldLongerThan(queue: string, ageMs: number): Promise<HeldSlot[]> {
    const { rows } = await this.q<{ grp: string; job_id: string }>(this.sql['groups-held'], [queue, ageMs]);
    return rows.map((r) => ({ group: r.grp, id: r.job_id }));
  }

  async getOverride(queue: string, group: string) {
    const { rows } = await this.q<{ override: GroupOverride }>(this.sql['groups-override-get'], [queue, group]);
    return rows[0]?.override ?? null;
  }

  async putOverride(queue: string, group: string, override: GroupOverride) {
    await this.q(this.sql['groups-override-put'], [queue, group, JSON.stringify(override)]);
  }

  async removeOverride(queue: string, group: string) {
    return (await this.q(this.sql['groups-override-remove'], [queue, group])).rowCount === 1;
  }

  async overrides(queue: string) {
    const { rows } = await this.q<{ grp: string; override: GroupOverride }>(this.sql['groups-override-get'], [queue, null]);
    return new Map(rows.map((r) => [r.grp, r.override]));
  }
}
