// The RateLimiter role over rate-limiter-flexible, for every backend: a limiter that rejects with a
// RateLimiterRes becomes `{ allowed: false, retryAfterMs }`; a store error is thrown.
import { type RateLimiterAbstract, RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import type { LimitDecision, LimiterOptions, RateLimiter } from '../stores.ts';

/** `limiter` may be built lazily (a Postgres table to create first): a function is called on every use. */
export function flexibleLimiter(limiter: RateLimiterAbstract | (() => Promise<RateLimiterAbstract>)): RateLimiter {
  const get = async () => (typeof limiter === 'function' ? limiter() : limiter);
  return {
    async consume(key): Promise<LimitDecision> {
      try {
        await (await get()).consume(key);
        return { allowed: true };
      } catch (res) {
        if (!(res instanceof RateLimiterRes)) throw res;
        return { allowed: false, retryAfterMs: res.msBeforeNext };
      }
    },
    async reset(key) {
      await (await get()).delete(key);
    },
  };
}

/**
 * rate-limiter-flexible's options for `opts` under the side-store base (keys `<base>:<name>:<key>`; the base
 * is `<prefix>:_conveyor`, or `<prefix>:{_conveyor}` on a Redis Cluster so every key has a hash tag).
 */
export const flexibleOptions = (base: string, opts: LimiterOptions) => ({
  points: opts.points,
  duration: opts.durationSeconds,
  keyPrefix: `${base}:${opts.name}`,
});

/** Counts in this process's memory only. */
export const memoryLimiter = (prefix: string, opts: LimiterOptions) =>
  flexibleLimiter(new RateLimiterMemory(flexibleOptions(`${prefix}:_conveyor`, opts)));
