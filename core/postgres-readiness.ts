// A /readyz check for a PostgreSQL database beside the queue store (the engine's own database is
// checked by engine.ping()), e.g. the reports database or the search source database, when configured.
// One small pool per URL, so probes every few seconds do not open a connection each time.
import pg from 'pg';
import type { KernelConfig } from './config/index.ts';
import type { ReadinessCheck } from './readiness.ts';

const pools = new Map<string, pg.Pool>();

function poolFor(url: string) {
  let pool = pools.get(url);
  if (!pool) {
    pool = new pg.Pool({ connectionString: url, max: 1, connectionTimeoutMillis: 1_500, idleTimeoutMillis: 30_000, allowExitOnIdle: true });
    pool.on('error', () => {}); // a dropped idle connection: the next check reconnects and reports
    pools.set(url, pool);
  }
  return pool;
}

export function postgresCheck<C extends KernelConfig>(name: string, urlOf: (c: C) => string | undefined): ReadinessCheck<C> {
  return {
    name,
    enabled: (config, store) => {
      const url = urlOf(config);
      // the queue store's own database (pgboss) is already checked as `postgres`
      return url !== undefined && url !== store.url;
    },
    check: async ({ config }) => {
      await poolFor(urlOf(config) as string).query('SELECT 1');
    },
  };
}
