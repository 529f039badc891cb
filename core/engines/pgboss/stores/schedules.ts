// The scheduler's store and run coordinator on Postgres, in the pg-boss engine's schema, so the
// scheduler keeps its guarantees on the pgboss engine: runtime schedules and firing state shared by
// every replica, a monotonic last slot, and one replica per slot (the per-slot job id still makes a
// race yield one job). Tables (created by the engine's migration):
//   conveyor_schedule        name → schedule JSON
//   conveyor_schedule_state  name → last handled slot (only ever moves forward), last job id
//   conveyor_schedule_lock   slot key → lock expiry
import type { Named, ScheduleState, ScheduleStore } from '../../../stores.ts';
import type { PgStore } from './tables.ts';

export class PostgresScheduleStore<S extends Named> implements ScheduleStore<S> {
  constructor(private readonly engine: PgStore) {}

  private async q(text: string, values?: unknown[]) {
    await this.engine.start();
    return this.engine.pool.query(text, values);
  }

  private get s() {
    return this.engine.schema;
  }

  async list(): Promise<S[]> {
    const { rows } = await this.q(`SELECT definition FROM ${this.s}.conveyor_schedule ORDER BY name`);
    return rows.map((r) => r.definition as S);
  }

  async get(name: string): Promise<S | null> {
    const { rows } = await this.q(`SELECT definition FROM ${this.s}.conveyor_schedule WHERE name = $1`, [name]);
    return (rows[0]?.definition as S | undefined) ?? null;
  }

  async put(schedule: S): Promise<void> {
    await this.q(
      `INSERT INTO ${this.s}.conveyor_schedule (name, definition) VALUES ($1, $2)
       ON CONFLICT (name) DO UPDATE SET definition = excluded.definition`,
      [schedule.name, JSON.stringify(schedule)],
    );
  }

  async remove(name: string): Promise<boolean> {
    const { rows } = await this.q(
      `WITH gone AS (DELETE FROM ${this.s}.conveyor_schedule WHERE name = $1 RETURNING 1),
            state AS (DELETE FROM ${this.s}.conveyor_schedule_state WHERE name = $1 RETURNING 1)
       SELECT (SELECT count(*) FROM gone)::int AS n, (SELECT count(*) FROM state)::int AS s`,
      [name],
    );
    return (rows[0]?.n ?? 0) === 1;
  }

  async states(): Promise<Map<string, ScheduleState>> {
    const { rows } = await this.q(`SELECT name, last_slot_ms, last_job_id FROM ${this.s}.conveyor_schedule_state`);
    return new Map(
      rows.map((r) => [
        r.name as string,
        { lastSlotMs: r.last_slot_ms === null ? null : Number(r.last_slot_ms), lastJobId: r.last_job_id ?? null },
      ]),
    );
  }

  async recordFired(name: string, slotMs: number | null, jobId: string | null): Promise<void> {
    await this.q(
      `INSERT INTO ${this.s}.conveyor_schedule_state AS s (name, last_slot_ms, last_job_id) VALUES ($1, $2, $3)
       ON CONFLICT (name) DO UPDATE SET
         last_slot_ms = GREATEST(s.last_slot_ms, excluded.last_slot_ms),
         last_job_id = COALESCE(excluded.last_job_id, s.last_job_id)`,
      [name, slotMs, jobId],
    );
  }

  /** node-cron's RunCoordinator: the first replica to claim the slot's key (until it expires) runs it. */
  async claim(key: string, ttlMs: number): Promise<boolean> {
    const { rows } = await this.q(
      `INSERT INTO ${this.s}.conveyor_schedule_lock AS l (key, expires_at) VALUES ($1, now() + $2 * interval '1 millisecond')
       ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at WHERE l.expires_at < now()
       RETURNING key`,
      [key, ttlMs],
    );
    // locks of past slots are swept now and then
    if (Math.random() < 0.01) await this.q(`DELETE FROM ${this.s}.conveyor_schedule_lock WHERE expires_at < now() - interval '1 hour'`);
    return rows.length === 1;
  }
}
