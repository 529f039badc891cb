// EMAIL_RATE_PER_SECOND on an engine without queue rate limits (pg-boss): each send first takes a token
// from a limiter shared by every worker through Postgres (rate-limiter-flexible), waiting for the next
// window when none is left. On BullMQ the queue's own limiter does this and no throttle is made.
import { setTimeout as sleep } from 'node:timers/promises';
import { RateLimiterPostgres, RateLimiterRes } from 'rate-limiter-flexible';
import type { Engine } from '../../core/engine.ts';
import { postgresStoreOf } from './postgres-store.ts';

export interface SendThrottle {
  /** resolves when this send may go; rejects if `signal` fires first */
  take(signal: AbortSignal): Promise<void>;
}

export async function createSendThrottle(engine: Engine, opts: { perSecond: number; prefix: string }): Promise<SendThrottle | undefined> {
  if (engine.capabilities.rateLimit) return undefined;
  const pg = postgresStoreOf(engine);
  if (!pg) return undefined;
  await pg.start(); // the limiter's table goes in the engine's schema, which must exist first
  const limiter = await new Promise<RateLimiterPostgres>((resolve, reject) => {
    const l: RateLimiterPostgres = new RateLimiterPostgres(
      {
        storeClient: pg.pool,
        storeType: 'pool',
        schemaName: pg.schema,
        tableName: 'conveyor_email_rate',
        keyPrefix: `${opts.prefix}:email`,
        points: opts.perSecond,
        duration: 1,
      },
      (err?: Error) => (err ? reject(err) : resolve(l)),
    );
  });
  return {
    async take(signal) {
      for (;;) {
        signal.throwIfAborted();
        try {
          await limiter.consume('send');
          return;
        } catch (res) {
          if (!(res instanceof RateLimiterRes)) throw res;
          await sleep(Math.max(5, res.msBeforeNext), undefined, { signal });
        }
      }
    },
  };
}
