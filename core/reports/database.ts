// The reports database: REPORTS_DATABASE_URL, or in development the local PostgreSQL.
import pg from 'pg';
import type { Config } from '../config.ts';

export const DEV_REPORTS_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

/** undefined when reports are not configured (the reports queue is then not consumed: jobs wait). */
export function reportsDatabaseUrl(config: Pick<Config, 'REPORTS_DATABASE_URL' | 'NODE_ENV'>): string | undefined {
  return config.REPORTS_DATABASE_URL ?? (config.NODE_ENV === 'development' ? DEV_REPORTS_DATABASE_URL : undefined);
}

/** Whether to create and fill the demo table: REPORTS_DEMO, by default everywhere but production. */
export function demoEnabled(config: Pick<Config, 'REPORTS_DEMO' | 'NODE_ENV'>): boolean {
  return config.REPORTS_DEMO ?? config.NODE_ENV !== 'production';
}

export function createReportsPool(url: string, opts: { max: number; applicationName: string }): pg.Pool {
  return new pg.Pool({
    connectionString: url,
    max: opts.max,
    application_name: opts.applicationName.slice(0, 63),
    connectionTimeoutMillis: 30_000,
    idleTimeoutMillis: 30_000,
  });
}
