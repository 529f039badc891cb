// The audit log: who changed what, through the API, the CLI or the dashboard. Routes declare their action
// in the route table (core/http/route.ts `audit`), and the route layer records one entry per call with its
// outcome before the response leaves (a failed write is logged with the whole entry, never hidden). The
// entries live in the engine's store (the backend's `audit` role: Redis or Postgres) for
// AUDIT_RETENTION_DAYS. docs/audit.md.
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { AuditEntry, AuditFilter, AuditStore } from './stores.ts';

export type { AuditEntry, AuditFilter, AuditStore };

/** `<13-digit ms>:<id>`: sorts like the entries (oldest first), names one entry as a page boundary. */
export const cursorOf = (e: Pick<AuditEntry, 'at' | 'id'>) => `${String(Date.parse(e.at)).padStart(13, '0')}:${e.id}`;
export const CURSOR = /^\d{13}:[A-Za-z0-9-]{1,64}$/;
export const parseCursor = (c: string) => ({ ms: Number(c.slice(0, 13)), id: c.slice(14) });

export function outcomeOf(status: number): AuditEntry['outcome'] {
  if (status < 400) return 'ok';
  return [401, 403, 429].includes(status) ? 'denied' : 'failed';
}

/** Does `e` match `f` (the stores that filter in memory use it; SQL says the same)? */
export function matches(e: AuditEntry, f: AuditFilter): boolean {
  const at = Date.parse(e.at);
  if (f.since !== undefined && at < f.since) return false;
  if (f.until !== undefined && at >= f.until) return false;
  if (f.actor !== undefined && e.actor !== f.actor) return false;
  if (f.action !== undefined && !(f.action.endsWith('.') ? e.action.startsWith(f.action) : e.action === f.action)) return false;
  if (f.target !== undefined && e.target !== f.target) return false;
  if (f.outcome !== undefined && e.outcome !== f.outcome) return false;
  if (f.via !== undefined && e.via !== f.via) return false;
  if (f.requestId !== undefined && e.requestId !== f.requestId) return false;
  return true;
}

export type AuditRecord = Omit<AuditEntry, 'id' | 'at' | 'outcome'> & { at?: string };

const SWEEP_EVERY_MS = 10 * 60_000;

/** Records entries into the store and trims it by age now and then; never throws into a request. */
export class AuditLog {
  private lastSweep = 0;

  constructor(
    readonly store: AuditStore,
    private readonly opts: { retentionDays: number; logger: Logger; now?: () => number },
  ) {}

  private now() {
    return this.opts.now?.() ?? Date.now();
  }

  async record(r: AuditRecord): Promise<AuditEntry> {
    const entry: AuditEntry = { id: randomUUID(), ...r, at: r.at ?? new Date(this.now()).toISOString(), outcome: outcomeOf(r.status) };
    try {
      await this.store.append(entry);
    } catch (err) {
      // the action itself already happened: keep the entry in the log so it is not lost with the store
      this.opts.logger.error({ err, audit: entry }, 'audit entry not stored');
    }
    if (this.now() - this.lastSweep > SWEEP_EVERY_MS) {
      this.lastSweep = this.now();
      void this.sweep().catch((err) => this.opts.logger.warn({ err }, 'audit retention sweep failed'));
    }
    return entry;
  }

  /** removes entries past AUDIT_RETENTION_DAYS */
  sweep(): Promise<number> {
    return this.store.sweep(this.now() - this.opts.retentionDays * 86_400_000);
  }
}
