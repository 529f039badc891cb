// The scheduler's store and run coordinator on Postgres, in the pg-boss engine's schema, so the
// scheduler keeps its guarantees on the pgboss engine: runtime schedules and firing state shared by
// every replica, a monotonic last slot, and one replica per slot (the per-slot job id still makes a
// race yield one job). Tables (created by the engine's migration), statements in sql/schedule-*.sql:
//   conveyor_schedule        name → schedule JSON
//   conveyor_schedule_state  name → last handled slot (only ever moves forward), last job id
//   conveyor_schedule_lock   slot key → lock expiry
import type { Named, ScheduleState, ScheduleStore } from '../../../stores.ts';
import { type StoreStatements, storeStatements } from './sql.ts';
import type { PgStore } from './tables.ts';

export class PostgresScheduleStore<S extends Named> implements ScheduleStore<S> {
  private readonly sql: StoreStatements;

  constructor(private readonly engine: PgStore) {
    this.sql = storeStatements(engine.schema);
  }

  private async q(text: string, values?: unknown[]) {
    await this.engine.start();
    return this.engine.pool.query(text, values);
  }

  async list(): Promise<S[]> {
    const { rows } = await this.q(this.sql['schedule-list']);
    return rows.map((r) => r.definition as S);
  }

  async get(name: string): Promise<S | null> {
    const { rows } = await this.q(this.sql['schedule-get'], [name]);
    return (rows[0]?.definition as S | undefined) ?? null;
  }

  async put(schedule: S): Promise<void> {
    await this.q(this.sql['schedule-put'], [schedule.name, JSON.stringify(schedule)]);
  }

  async remove(name: string): Promise<boolean> {
    const { rows } = await this.q(this.sql['schedule-remove'], [name]);
    return (rows[0]?.n ?? 0) === 1;
  }

  async states(): Promise<Map<string, ScheduleState>> {
    const { rows } = await this.q(this.sql['schedule-states']);
    return new Map(
      rows.map((r) => [
        r.name as string,
        { lastSlotMs: r.last_slot_ms === null ? null : Number(r.last_slot_ms), lastJobId: r.last_job_id ?? null },
      ]),
    );
  }

  async recordFired(name: string, slotMs: number | null, jobId: string | null): Promise<void> {
    await this.q(this.sql['schedule-record-fired'], [name, slotMs, jobId]);
  }

  /** node-cron's RunCoordinator: the first replica to claim the slot's key (until it expires) runs it. */
  async claim(key: string, ttlMs: number): Promise<boolean> {
    const { rows } = await this.q(this.sql['schedule-claim'], [key, ttlMs]);
    // locks of past slots are swept now and then
    if (Math.random() < 0.01) await this.q(this.sql['schedule-sweep-claims']);
    return rows.length === 1;
  }
}
