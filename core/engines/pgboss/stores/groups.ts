// Group limits on Postgres (core/groups/, docs/groups.md), in the engine's schema beside pg-boss's job table:
// conveyor_group (override, rate state; its row lock orders a group's steps) and conveyor_group_job (parked
// and released jobs). Each step is one call of conveyor_group_step (sql/groups-create.sql), one transaction:
// park or free, then release what fits by making parked job rows due (at their rate slot, by the database
// clock) and NOTIFYing the consumers, so a slot and its job's release cannot be split by a crash.
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

  private async step(queue: string, group: string, mode: 'park' | 'free' | 'fill', ids: string[] = [], delays: number[] = []) {
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
    // NOTIFY wakes every consumer for jobs due now; one released to a later slot is picked up by a timer here
    const later = r.delays.filter((ms) => ms > 0);
    if (later.length > 0) for (const ms of new Set(later.map((ms) => Math.ceil(ms)))) this.store.wakeAfter(queue, ms + 5);
    return r.freed;
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
    return this.step(queue, group, 'free', [id]);
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
