// Retry delays: exponential with full jitter and a cap (AWS "Exponential Backoff and Jitter").
// Pure: the random source is a parameter so tests can pin it.

export interface BackoffPolicy {
  /** delay before the first retry, before jitter, in ms */
  baseMs: number;
  /** no delay exceeds this, in ms */
  capMs: number;
  /** `full`: uniform in [0, min(cap, base·2^n)]; `none`: exactly min(cap, base·2^n) */
  jitter: 'full' | 'none';
}

/** Delay before retry number `retry` (1 = first retry). */
export function backoffDelay(policy: BackoffPolicy, retry: number, random: () => number = Math.random): number {
  const exp = Math.min(policy.capMs, policy.baseMs * 2 ** Math.max(0, retry - 1));
  return policy.jitter === 'full' ? Math.floor(random() * exp) : exp;
}
