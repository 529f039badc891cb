// Which slots to enqueue now: the on-time ones, plus missed ones as the misfire policy says.
// Pure: the caller passes `now` and what the store knows.
import { type CronSpec, latestSlots, slotsBetween } from './slots.ts';

export type MisfirePolicy = 'skip' | 'once' | 'all';

export interface PlanInput {
  spec: CronSpec;
  timezone: string;
  misfire: { policy: MisfirePolicy; max: number };
  /** the latest slot any replica handled (enqueued or skipped); null when the schedule never fired */
  lastSlotMs: number | null;
  /** slots at or before this instant are never due (schedule created, replaced or resumed then) */
  notBeforeMs: number;
  nowMs: number;
  /** a slot handled later than this after its time counts as missed */
  toleranceMs: number;
}

export interface Plan {
  /** slots to enqueue, ascending */
  enqueue: number[];
  /** missed slots left out by the policy (counted up to a bound) */
  skipped: number;
  /** the latest due slot (enqueued or skipped): persist it as the last handled slot */
  latest: number | null;
}

/** bound on the skipped count we bother to compute */
const COUNT_BOUND = 10_000;

export function planSlots(p: PlanInput): Plan {
  const after = Math.max(p.lastSlotMs ?? Number.NEGATIVE_INFINITY, p.notBeforeMs);
  if (p.nowMs <= after) return { enqueue: [], skipped: 0, latest: null };
  const lateLine = p.nowMs - p.toleranceMs;
  const onTime = slotsBetween(p.spec, p.timezone, Math.max(after, lateLine), p.nowMs);
  let missed: number[] = [];
  let skipped = 0;
  if (after < lateLine) {
    const want = p.misfire.policy === 'skip' ? 1 : p.misfire.policy === 'once' ? 1 : p.misfire.max;
    missed = latestSlots(p.spec, p.timezone, after, lateLine, want);
    if (missed.length > 0) {
      // how many missed slots exist beyond those we keep (bounded)
      const total = missed.length < want ? missed.length : slotsBetween(p.spec, p.timezone, after, lateLine, COUNT_BOUND).length;
      const kept = p.misfire.policy === 'skip' ? 0 : missed.length;
      skipped = total - kept;
    }
  }
  const latest = onTime.at(-1) ?? missed.at(-1) ?? null;
  const enqueue = p.misfire.policy === 'skip' ? onTime : [...missed, ...onTime];
  return { enqueue, skipped, latest };
}
