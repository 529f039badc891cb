// EMAIL_RATE_PER_SECOND on an engine without queue rate limits (pg-boss): each send first takes a token
// from a limiter every worker shares (the backend's shared limiter `email`: a Postgres table on pgboss),
// waiting for the next window when none is left. On BullMQ the queue's own limiter does this and no
// throttle is made.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Backend } from '../../core/backend.ts';

export interface SendThrottle {
  /** resolves when this send may go; rejects if `signal` fires first */
  take(signal: AbortSignal): Promise<void>;
}

export function createSendThrottle(backend: Pick<Backend, 'engine' | 'limiter'>, opts: { perSecond: number }): SendThrottle | undefined {
  if (backend.engine.capabilities.rateLimit) return undefined;
  const limiter = backend.limiter({ name: 'email', points: opts.perSecond, durationSeconds: 1, shared: true });
  return {
    async take(signal) {
      for (;;) {
        signal.throwIfAborted();
        const r = await limiter.consume('send');
        if (r.allowed) return;
        await sleep(Math.max(5, r.retryAfterMs), undefined, { signal });
      }
    },
  };
}
