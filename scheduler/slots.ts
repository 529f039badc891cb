// Slot computation: which instants a cron expression names in an IANA timezone. Pure functions
// (the caller passes every time), so tests drive them with a fake clock.
//
// node-cron parses the expression (its fields are what node-cron fires on); the walk over local days
// and the DST rule are ours, because neither node-cron nor cron-parser treats DST consistently
// (a spring-forward slot is lost, a fall-back slot fires at the second occurrence or twice).
//
// DST rule (docs/scheduler.md):
// - a local time that does not exist (spring forward) fires once, at the first instant after the gap
//   (02:30 Europe/Berlin on the last Sunday of March fires at 03:00 CEST); several such slots collapse
//   into that one instant;
// - a local time that occurs twice (fall back) fires once, at its first occurrence, unless the hour
//   field matches every hour (`*`): such schedules follow real time and fire in both occurrences.
import cron from 'node-cron';

const SECOND = 1000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
/** how far the day walk looks for a matching day (covers Feb 29 schedules) */
const MAX_DAYS = 366 * 8;

export interface CronSpec {
  expression: string;
  second: number[];
  minute: number[];
  hour: number[];
  dayOfMonth: (number | string)[];
  month: number[];
  dayOfWeek: (number | string)[];
  /** the hour field matches all 24 hours: repeated fall-back hours fire twice (real time) */
  everyHour: boolean;
}

/** The longest cron expression accepted (six fields of lists fit easily). */
export const CRON_MAX_LENGTH = 256;

export type ParseResult = { ok: true; spec: CronSpec } | { ok: false; message: string };

/** Parse a 5- or 6-field (seconds first) cron expression, or say which field is wrong. */
export function parseCron(expression: string): ParseResult {
  if (typeof expression !== 'string' || expression.trim() === '') return { ok: false, message: 'expects a cron expression' };
  // every schedule is re-parsed as it fires: a 400 KB expression would cost a core
  if (expression.length > CRON_MAX_LENGTH) return { ok: false, message: `at most ${CRON_MAX_LENGTH} characters` };
  const v = cron.validateDetailed(expression);
  if (!v.valid || !v.fields) {
    return { ok: false, message: v.errors.map((e) => (e.field === 'expression' ? e.message : `${e.field}: ${e.message}`)).join('; ') };
  }
  const f = v.fields;
  const sorted = (a: number[]) => [...new Set(a)].sort((x, y) => x - y);
  return {
    ok: true,
    spec: {
      expression,
      second: sorted(f.second),
      minute: sorted(f.minute),
      hour: sorted(f.hour),
      dayOfMonth: f.dayOfMonth,
      month: f.month,
      dayOfWeek: f.dayOfWeek,
      everyHour: new Set(f.hour).size === 24,
    },
  };
}

/** True for an IANA zone name the runtime knows (`UTC`, `Europe/Berlin`); offsets like `+02:00` are refused. */
export function isValidTimezone(tz: unknown): tz is string {
  if (typeof tz !== 'string' || !/^[A-Za-z]/.test(tz)) return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

// ── local time ────────────────────────────────────────────────────────────────────────────────

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(tz: string) {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(tz, f);
  }
  return f;
}

export interface LocalTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

export function localTime(ms: number, tz: string): LocalTime {
  const out: Record<string, number> = {};
  for (const p of formatter(tz).formatToParts(ms)) if (p.type !== 'literal') out[p.type] = Number(p.value);
  return out as unknown as LocalTime;
}

/** local wall clock minus UTC at instant `ms`, in ms */
export function offsetAt(ms: number, tz: string): number {
  const t = localTime(ms, tz);
  return Date.UTC(t.year, t.month - 1, t.day, t.hour, t.minute, t.second) - Math.floor(ms / SECOND) * SECOND;
}

/** How wall times of one local day map to instants (`wall` = the local time read as if it were UTC). */
interface DayMapping {
  before: number;
  after: number;
  /** the first instant with the `after` offset (only meaningful when before ≠ after) */
  transition: number;
}

function dayMapping(wall0: number, tz: string): DayMapping {
  // 18 h either side of the local day is outside it for every offset (−12 h … +14 h).
  const a = wall0 - 18 * HOUR;
  const b = wall0 + DAY + 18 * HOUR;
  const before = offsetAt(a, tz);
  const after = offsetAt(b, tz);
  if (before === after) return { before, after, transition: b };
  let lo = a;
  let hi = b; // offsetAt(hi) === after
  while (hi - lo > SECOND) {
    const mid = Math.floor((lo + hi) / 2 / SECOND) * SECOND;
    if (mid <= lo) break;
    if (offsetAt(mid, tz) === after) hi = mid;
    else lo = mid;
  }
  return { before, after, transition: hi };
}

/** The instants a wall time names under the DST rule (one, or two for an `everyHour` fall-back). */
function toInstants(wall: number, m: DayMapping, everyHour: boolean): number[] {
  if (m.before === m.after) return [wall - m.before];
  const t = m.transition;
  if (m.after > m.before) {
    if (wall < t + m.before) return [wall - m.before];
    if (wall >= t + m.after) return [wall - m.after];
    return [t]; // in the gap: the first instant after it
  }
  if (wall < t + m.after) return [wall - m.before];
  if (wall >= t + m.before) return [wall - m.after];
  return everyHour ? [wall - m.before, wall - m.after] : [wall - m.before];
}

// ── day matching (node-cron's semantics: day-of-month AND day-of-week) ───────────────────────

const lastDayOfMonth = (y: number, m: number) => new Date(Date.UTC(y, m, 0)).getUTCDate();
const weekdayOf = (y: number, m: number, d: number) => new Date(Date.UTC(y, m - 1, d)).getUTCDay();

function nearestWeekday(y: number, m: number, target: number) {
  const last = lastDayOfMonth(y, m);
  if (target < 1 || target > last) return -1;
  const wd = weekdayOf(y, m, target);
  if (wd === 6) return target === 1 ? target + 2 : target - 1;
  if (wd === 0) return target === last ? target - 2 : target + 1;
  return target;
}

function matchesDayOfMonth(field: (number | string)[], y: number, m: number, d: number) {
  for (const v of field) {
    if (v === d) return true;
    if (typeof v !== 'string') continue;
    if (v === 'L' && d === lastDayOfMonth(y, m)) return true;
    const w = /^(\d{1,2}|L)W$/.exec(v);
    if (w && nearestWeekday(y, m, w[1] === 'L' ? lastDayOfMonth(y, m) : Number(w[1])) === d) return true;
    const off = /^L-(\d{1,2})$/.exec(v);
    if (off && lastDayOfMonth(y, m) - Number(off[1]) === d) return true;
  }
  return false;
}

function matchesDayOfWeek(field: (number | string)[], y: number, m: number, d: number) {
  const wd = weekdayOf(y, m, d);
  for (const v of field) {
    if (v === wd) return true;
    if (typeof v !== 'string') continue;
    const nth = /^([0-7])#([1-5])$/.exec(v);
    if (nth) {
      if (Number(nth[1]) % 7 === wd && Math.floor((d - 1) / 7) + 1 === Number(nth[2])) return true;
      continue;
    }
    const last = /^([0-7])L$/i.exec(v);
    if (last && Number(last[1]) % 7 === wd && d + 7 > lastDayOfMonth(y, m)) return true;
  }
  return false;
}

function dayMatches(spec: CronSpec, y: number, m: number, d: number) {
  return spec.month.includes(m) && matchesDayOfMonth(spec.dayOfMonth, y, m, d) && matchesDayOfWeek(spec.dayOfWeek, y, m, d);
}

/** Slots whose wall time lies on local day `wall0` (UTC midnight of that date), within (lo, hi], ascending. */
function slotsOfDay(spec: CronSpec, tz: string, wall0: number, lo: number, hi: number): number[] {
  const date = new Date(wall0);
  const y = date.getUTCFullYear();
  const m = date.getUTCMonth() + 1;
  const d = date.getUTCDate();
  if (!dayMatches(spec, y, m, d)) return [];
  const map = dayMapping(wall0, tz);
  // wall-time window that can reach (lo, hi] (conservative across a transition)
  const wlo = lo + Math.min(map.before, map.after);
  const whi = hi + Math.max(map.before, map.after);
  const out: number[] = [];
  for (const h of spec.hour) {
    const hw = wall0 + h * HOUR;
    if (hw + HOUR <= wlo || hw > whi) continue;
    for (const mi of spec.minute) {
      const mw = hw + mi * 60_000;
      if (mw + 60_000 <= wlo || mw > whi) continue;
      for (const s of spec.second) {
        for (const t of toInstants(mw + s * SECOND, map, spec.everyHour)) if (t > lo && t <= hi) out.push(t);
      }
    }
  }
  out.sort((a, b) => a - b);
  return out.filter((t, i) => i === 0 || t !== out[i - 1]);
}

const localMidnight = (ms: number, tz: string) => {
  const t = localTime(ms, tz);
  return Date.UTC(t.year, t.month - 1, t.day);
};

/** Slots in (afterMs, untilMs], ascending, at most `limit`. */
export function slotsBetween(spec: CronSpec, tz: string, afterMs: number, untilMs: number, limit = Number.POSITIVE_INFINITY): number[] {
  const out: number[] = [];
  if (untilMs <= afterMs) return out;
  const last = localMidnight(untilMs, tz) + DAY;
  // one day of slack either side: a gap slot can land on the neighbouring local date
  for (let day = localMidnight(afterMs, tz) - DAY, n = 0; day <= last && n < MAX_DAYS; day += DAY, n++) {
    for (const t of slotsOfDay(spec, tz, day, afterMs, untilMs)) {
      if (out.length > 0 && t <= (out.at(-1) as number)) continue;
      out.push(t);
      if (out.length >= limit) return out;
    }
  }
  return out;
}

/** The next `count` slots after `fromMs`. */
export function nextSlots(spec: CronSpec, tz: string, fromMs: number, count: number): number[] {
  const out: number[] = [];
  for (let day = localMidnight(fromMs, tz) - DAY, n = 0; n < MAX_DAYS && out.length < count; day += DAY, n++) {
    for (const t of slotsOfDay(spec, tz, day, fromMs, Number.MAX_SAFE_INTEGER)) {
      if (out.length > 0 && t <= (out.at(-1) as number)) continue;
      out.push(t);
      if (out.length >= count) break;
    }
  }
  return out;
}

/** The latest `count` slots in (afterMs, untilMs], ascending. */
export function latestSlots(spec: CronSpec, tz: string, afterMs: number, untilMs: number, count: number): number[] {
  const out: number[] = []; // descending while collecting
  if (untilMs <= afterMs || count <= 0) return out;
  const first = localMidnight(afterMs, tz) - DAY;
  for (let day = localMidnight(untilMs, tz) + DAY, n = 0; day >= first && n < MAX_DAYS && out.length < count; day -= DAY, n++) {
    const slots = slotsOfDay(spec, tz, day, afterMs, untilMs);
    for (let i = slots.length - 1; i >= 0 && out.length < count; i--) {
      const t = slots[i] as number;
      if (out.length > 0 && t >= (out.at(-1) as number)) continue;
      out.push(t);
    }
  }
  return out.reverse();
}
