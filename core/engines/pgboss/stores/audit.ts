// AuditStore on Postgres, in the engine's schema: `conveyor_audit` keyed (at_ms, id), the entry as jsonb
// beside the filter columns; statements in sql/audit-*.sql. Filters and paging are one indexed query.
import { cursorOf, parseCursor } from '../../../audit.ts';
import type { AuditEntry, AuditFilter, AuditStore } from '../../../stores.ts';
import { type StoreStatements, storeStatements } from './sql.ts';
import { ensureTables, type PgStore } from './tables.ts';

export class PostgresAuditStore implements AuditStore {
  private readonly sql: StoreStatements;

  constructor(private readonly pg: PgStore) {
    this.sql = storeStatements(pg.schema);
  }

  private async q(text: string, values: unknown[]) {
    await ensureTables(this.pg, this.sql['audit-create']);
    return this.pg.pool.query(text, values);
  }

  async append(e: AuditEntry) {
    const values = [Date.parse(e.at), e.id, e.actor, e.action, e.target, e.outcome, e.via, e.requestId, JSON.stringify(e)];
    await this.q(this.sql['audit-append'], values);
  }

  async list(f: AuditFilter, limit: number, cursor?: string) {
    const prefix = f.action?.endsWith('.') ? f.action : null;
    const c = cursor ? parseCursor(cursor) : null;
    const { rows } = await this.q(this.sql['audit-list'], [
      f.actor ?? null,
      prefix ? null : (f.action ?? null),
      prefix,
      f.target ?? null,
      f.outcome ?? null,
      f.via ?? null,
      f.requestId ?? null,
      f.since ?? null,
      f.until ?? null,
      c?.ms ?? null,
      c?.id ?? null,
      limit + 1,
    ]);
    const entries = rows.slice(0, limit).map((r) => r.entry as AuditEntry);
    const last = entries.at(-1);
    return { entries, next: rows.length > limit && last ? cursorOf(last) : null };
  }

  async sweep(beforeMs: number) {
    const r = await this.q(this.sql['audit-sweep'], [beforeMs]);
    return r.rowCount ?? 0;
  }
}
