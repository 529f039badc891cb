// The reports database: REPORTS_DATABASE_URL, or in development DATABASE_URL.
import pg from 'pg';
import type { ReportsConfig } from './config.ts';

/**
 * REPORTS_DATABASE_URL; in development it defaults to DATABASE_URL (under `npm start`, the embedded
 * PostgreSQL), so the demo report works with no setup. undefined when neither is set: the reports queue is
 * then not consumed and jobs wait.
 */
export function reportsDatabaseUrl(config: Pick<ReportsConfig, 'REPORTS_DATABASE_URL' | 'DATABASE_URL' | 'NODE_ENV'>): string | undefined {
  return config.REPORTS_DATABASE_URL ?? (config.NODE_ENV === 'development' ? config.DATABASE_URL : undefined);
}

/** Whether to create and fill the demo table: REPORTS_DEMO, by default in development only. */
export function demoEnabled(config: Pick<ReportsConfig, 'REPORTS_DEMO' | 'NODE_ENV'>): boolean {
  return config.REPORTS_DEMO ?? config.NODE_ENV === 'development';
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
