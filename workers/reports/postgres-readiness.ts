// /readyz checks for the PostgreSQL databases beside the queue store (the engine's own database is
// checked by engine.ping()): the reports database and the search source database, when configured.
// One small pool per URL, so probes every few seconds do not open a connection each time.
import pg from 'pg';
import type { ReadinessCheck } from '../../core/readiness.ts';
import type { ReportsConfig } from './config.ts';

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

type Checked = ReportsConfig & { SEARCH_SOURCE_DATABASE_URL?: string };

function postgresCheck(name: string, urlOf: (c: Checked) => string | undefined): ReadinessCheck<Checked> {
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

export const postgresReadinessChecks: ReadinessCheck<Checked>[] = [
  postgresCheck('postgres (reports)', (c) => c.REPORTS_DATABASE_URL),
  postgresCheck('postgres (search source)', (c) => c.SEARCH_SOURCE_DATABASE_URL),
];
