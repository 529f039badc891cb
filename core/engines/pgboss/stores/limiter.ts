// Rate limiters on the pgboss backend. A limiter that must be shared (LimiterOptions.shared: the email send
// throttle) counts in a Postgres table in the engine's schema (`email` → conveyor_email_rate), through
// rate-limiter-flexible. Every other limiter (API keys, dashboard sign-in) counts in memory per process:
// N web processes allow N× the limit (capabilities.sharedRateLimits false; docs/engines.md).
import { RateLimiterPostgres } from 'rate-limiter-flexible';
import type { LimiterOptions, RateLimiter } from '../../../stores.ts';
import { flexibleLimiter, flexibleOptions, memoryLimiter } from '../../limiter.ts';
import { type PgStore, tableName } from './tables.ts';

export function pgbossLimiter(store: PgStore, prefix: string, opts: LimiterOptions): RateLimiter {
  if (!opts.shared) return memoryLimiter(prefix, opts);
  let made: Promise<RateLimiterPostgres> | undefined;
  const make = async () => {
    await store.start(); // the limiter's table goes in the engine's schema, which must exist first
    return new Promise<RateLimiterPostgres>((resolve, reject) => {
      const l: RateLimiterPostgres = new RateLimiterPostgres(
        {
          ...flexibleOptions(prefix, opts),
          storeClient: store.pool,
          storeType: 'pool',
          schemaName: store.schema,
          tableName: `${tableName(opts.name)}_rate`,
        },
        (err?: Error) => (err ? reject(err) : resolve(l)),
      );
    });
  };
  return flexibleLimiter(() => {
    made ??= make().catch((err) => {
      made = undefined; // the next call tries again
      throw err;
    });
    return made;
  });
}
