// Retry delays: exponential with full jitter and a cap (AWS "Exponential Backoff and Jitter"), and the
// same under a time budget (`retryFor`, docs/reliability.md "Retry budgets"). Pure: the random source
// is a parameter so tests can pin it. Nothing here loops over an unbounded count.

export interface BackoffPolicy {
  /** delay before the first retry, before jitter, in ms */
  baseMs: number;
  /** no delay exceeds this, in ms (under a time budget the cap may stretch, see budgetedDelay) */
  capMs: number;
  /** `full`: uniform in [0, min(cap, base·2^n)]; `none`: exactly min(cap, base·2^n) */
  jitter: 'full' | 'none';
}

/** 2^52: past this the exponential term is above any cap; keeps base·2^n finite (base 0 stays 0, never NaN) */
const MAX_EXPONENT = 52;

/** Delay before retry number `retry` (1 = first retry). */
export function backoffDelay(policy: BackoffPolicy, retry: number, random: () => number = Math.random): number {
  const n = Math.min(MAX_EXPONENT, Math.max(0, Math.floor(retry) - 1 || 0));
  const exp = Math.max(0, Math.min(policy.capMs, policy.baseMs * 2 ** n));
  return policy.jitter === 'full' ? Math.floor(random() * exp) : exp;
}

/** Where a failed job stands against its time budget. */
export interface RetryBudget {
  /** how long the job may keep retrying, in ms, counted from its first failed attempt */
  retryForMs: number;
  /** ms since its first failed attempt (0 when this is the first) */
  elapsedMs: number;
  /** attempts still allowed after this failed one (maxAttempts − attempt), ≥ 1 */
  retriesLeft: number;
}

/**
 * Delay before retry number `retry` of a job with a time budget; undefined when the budget is spent
 * (the job is dead). With R = the budget left and k = the retries left:
 *   - the cap stretches to max(capMs, R / k), so the attempts left can span what is left of the budget;
 *   - no delay goes past the budget (at most R), and the last retry (k = 1) waits exactly R: a job is
 *     never dead-lettered for running out of attempts before its budget ends;
 *   - `hintMs` (a RetryLaterError's hint) replaces the exponential term, within the same bounds.
 */
export function budgetedDelay(
  policy: BackoffPolicy,
  retry: number,
  budget: RetryBudget,
  random: () => number = Math.random,
  hintMs?: number,
): number | undefined {
  const remaining = Math.floor(budget.retryForMs - budget.elapsedMs);
  if (!(remaining > 0)) return undefined; // NaN included
  if (!(budget.retriesLeft > 1)) return remaining;
  const capMs = Math.max(policy.capMs, Math.floor(remaining / budget.retriesLeft));
  const delay = hintMs ?? backoffDelay({ ...policy, capMs }, retry, random);
  return Math.min(remaining, Math.max(0, Math.floor(delay) || 0));
}

/** the longest schedule `retrySchedule` computes (attempts are capped at 100 by the API) */
export const MAX_SCHEDULE = 10_000;

/**
 * The delays a job would wait between attempts if every run failed at once: one entry per retry, at
 * most `attempts − 1` (and MAX_SCHEDULE). For docs and tests; the executor decides one step at a time.
 */
export function retrySchedule(policy: BackoffPolicy, attempts: number, retryForMs?: number, random: () => number = Math.random): number[] {
  const delays: number[] = [];
  let elapsedMs = 0;
  const last = Math.min(Math.floor(attempts) || 0, MAX_SCHEDULE);
  for (let attempt = 1; attempt < last; attempt++) {
    if (retryForMs === undefined) {
      delays.push(backoffDelay(policy, attempt, random));
      continue;
    }
    const delay = budgetedDelay(policy, attempt, { retryForMs, elapsedMs, retriesLeft: last - attempt }, random);
    if (delay === undefined) break;
    delays.push(delay);
    elapsedMs += delay;
  }
  return delays;
}
