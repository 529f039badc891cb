// AuditStore on Redis: one sorted set `<prefix>:_conveyor:audit`, every score 0, each member
// `<13-digit ms>:<id>\t<entry JSON>`, so ZREVRANGEBYLEX walks entries newest first and a page starts below
// a cursor (`<ms>:<id>`) without a second key. Filters are applied while walking: one call reads at most
// SCAN_BUDGET entries and hands back a cursor where it stopped. About 350 bytes per entry.
import type { Redis } from 'ioredis';
import { cursorOf, matches } from '../../../audit.ts';
import type { AuditEntry, AuditFilter, AuditStore } from '../../../stores.ts';

const PAGE = 500;
export const SCAN_BUDGET = 10_000;
const pad = (ms: number) => String(Math.max(0, Math.floor(ms))).padStart(13, '0');

export class RedisAuditStore implements AuditStore {
  private readonly key: string;

  /** `redis` is borrowed: the backend owns it */
  constructor(
    private readonly redis: Redis,
    /** `<prefix>:_conveyor` (keys.ts sideBase) */
    base: string,
  ) {
    this.key = `${base}:audit`;
  }

  async append(entry: AuditEntry) {
    await this.redis.zadd(this.key, 0, `${cursorOf(entry)}\t${JSON.stringify(entry)}`);
  }

  async list(filter: AuditFilter, limit: number, cursor?: string) {
    const entries: AuditEntry[] = [];
    // upper bound: below the cursor, or below `until`; lower bound: `since`
    let max = cursor ? `(${cursor}` : filter.until !== undefined ? `(${pad(filter.until)}` : '+';
    const min = filter.since !== undefined ? `[${pad(filter.since)}` : '-';
    for (let scanned = 0; scanned < SCAN_BUDGET; ) {
      const members = await this.redis.zrevrangebylex(this.key, max, min, 'LIMIT', 0, PAGE);
      for (const m of members) {
        scanned++;
        const tab = m.indexOf('\t');
        max = `(${m.slice(0, tab)}`;
        const e = JSON.parse(m.slice(tab + 1)) as AuditEntry;
        if (!matches(e, filter)) continue;
        entries.push(e);
        if (entries.length === limit) return { entries, next: cursorOf(e) };
      }
      if (members.length < PAGE) return { entries, next: null };
    }
    return { entries, next: max.slice(1) };
  }

  async sweep(beforeMs: number) {
    return this.redis.zremrangebylex(this.key, '-', `(${pad(beforeMs)}`);
  }
}
