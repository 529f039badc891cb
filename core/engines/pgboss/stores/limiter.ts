// Rate limiters on the pgboss backend: every limiter counts in a Postgres table in the engine's schema
// (`email` → conveyor_email_rate), through rate-limiter-flexible, so N web processes share one limit
// (capabilities.sharedRateLimits). While Postgres is unreachable (or the table cannot be made yet) each
// process limits on its own in memory rather than reject every request: the same insurance as on Redis.
import { RateLimiterMemory, RateLimiterPostgres } from 'rate-limiter-flexible';
import type { LimiterOptions, RateLimiter } from '../../../stores.ts';
import { flexibleLimiter, flexibleOptions } from '../../limiter.ts';
import { type PgStore, tableName } from './tables.ts';

export function pgbossLimiter(store: PgStore, prefix: string, opts: LimiterOptions): RateLimiter {
  const options = flexibleOptions(`${prefix}:_conveyor`, opts);
  const insurance = new RateLimiterMemory(options);
  let made: Promise<RateLimiterPostgres> | undefined;
  const make = async () => {
    await store.start(); // the limiter's table goes in the engine's schema, which must exist first
    return new Promise<RateLimiterPostgres>((resolve, reject) => {
      const l: RateLimiterPostgres = new RateLimiterPostgres(
        {
          ...options,
          storeClient: store.pool,
          storeType: 'pool',
          schemaName: store.schema,
          tableName: `${tableName(opts.name)}_rate`,
          insuranceLimiter: insurance,
        },
        (err?: Error) => (err ? reject(err) : resolve(l)),
      );
    });
  };
  return flexibleLimiter(() => {
    made ??= make().catch(() => {
      made = undefined; // the next call tries again; this one counts in memory
      return insurance as unknown as RateLimiterPostgres;
    });
    return made;
  });
}
