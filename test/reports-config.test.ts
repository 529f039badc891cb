// Reports configuration (validated at boot, naming the variable) and the idempotent demo release step.
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../workers/config.ts';
import { demoEnabled, reportsDatabaseUrl } from '../workers/reports/database.ts';
import { DEMO_ROWS, reportsDemoReleaseTask } from '../workers/reports/demo-data.ts';
import { quietLogger, testConfig } from './helpers.ts';
import { testSchema } from './reports-db.ts';

const base = { REDIS_URL: 'redis://127.0.0.1:6379', NODE_ENV: 'test' };

function problems(env: Record<string, string>): { variable: string; message: string }[] {
  try {
    loadConfig({ ...base, ...env });
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe('reports config', () => {
  it('names the variable for bad values', () => {
    expect(problems({ REPORTS_DATABASE_URL: 'mysql://x/y' })).toEqual([
      { variable: 'REPORTS_DATABASE_URL', message: expect.stringContaining('postgres://') },
    ]);
    expect(problems({ REPORTS_SIGNING_SECRET: 'short' })[0]?.variable).toBe('REPORTS_SIGNING_SECRET');
    expect(problems({ REPORTS_SIGNING_SECRET: `${'a'.repeat(32)},short` })[0]?.variable).toBe('REPORTS_SIGNING_SECRET');
    expect(problems({ REPORTS_LINK_TTL_SECONDS: '10' })[0]?.variable).toBe('REPORTS_LINK_TTL_SECONDS');
    expect(problems({ REPORTS_PUBLIC_URL: 'ftp://x' })[0]?.variable).toBe('REPORTS_PUBLIC_URL');
    expect(problems({ REPORTS_LINK_TTL_SECONDS: '7200', REPORTS_RETENTION_SECONDS: '3600' })[0]?.variable).toBe(
      'REPORTS_RETENTION_SECONDS',
    );
  });

  it('requires a signing secret and a public URL in production when reports are on', () => {
    const prod = { NODE_ENV: 'production', API_KEYS: '[]', DATABASE_URL: 'postgres://x@127.0.0.1/db' };
    expect(problems({ ...prod, REPORTS_DATABASE_URL: 'postgres://x@127.0.0.1/db' }).map((p) => p.variable)).toContain(
      'REPORTS_SIGNING_SECRET',
    );
    expect(
      problems({ ...prod, REPORTS_DATABASE_URL: 'postgres://x@127.0.0.1/db', REPORTS_SIGNING_SECRET: 's'.repeat(32) }).map(
        (p) => p.variable,
      ),
    ).toEqual(['REPORTS_PUBLIC_URL']);
    expect(
      problems({
        ...prod,
        REPORTS_DATABASE_URL: 'postgres://x@127.0.0.1/db',
        REPORTS_SIGNING_SECRET: 's'.repeat(32),
        REPORTS_PUBLIC_URL: 'https://conveyor.example.com',
      }),
    ).toEqual([]);
  });

  it('parses a comma list of secrets (rotation)', () => {
    const c = loadConfig({ ...base, REPORTS_SIGNING_SECRET: `${'a'.repeat(32)}, ${'b'.repeat(32)}` });
    expect(c.REPORTS_SIGNING_SECRET).toEqual(['a'.repeat(32), 'b'.repeat(32)]);
  });

  it('falls back to DATABASE_URL and seeds the demo in development only', () => {
    const dev = loadConfig({ ...base, NODE_ENV: 'development', DATABASE_URL: 'postgres://x@127.0.0.1/db' });
    expect(reportsDatabaseUrl(dev)).toBe('postgres://x@127.0.0.1/db');
    expect(demoEnabled(dev)).toBe(true);
    const test = loadConfig({ ...base, DATABASE_URL: 'postgres://x@127.0.0.1/db' });
    expect(reportsDatabaseUrl(test)).toBeUndefined();
    expect(demoEnabled(test)).toBe(false);
  });
});

describe('release step reports-demo-table', () => {
  it('creates and fills demo_orders, and running it again changes nothing', async () => {
    const db = await testSchema();
    const config = testConfig({ REPORTS_DATABASE_URL: db.url, REPORTS_DEMO: 'true' });
    expect(reportsDemoReleaseTask.enabled(config)).toBe(true);
    expect(reportsDemoReleaseTask.enabled(testConfig({ REPORTS_DEMO: 'true' }))).toBe(false);
    const deps = { config, logger: quietLogger, engine: undefined as never };
    await Promise.all([reportsDemoReleaseTask.run(deps), reportsDemoReleaseTask.run(deps)]);
    const first = await db.admin.query(`SELECT count(*)::int AS n, sum(amount)::text AS s FROM ${db.schema}.demo_orders`);
    await reportsDemoReleaseTask.run(deps);
    const second = await db.admin.query(`SELECT count(*)::int AS n, sum(amount)::text AS s FROM ${db.schema}.demo_orders`);
    expect(first.rows[0].n).toBe(DEMO_ROWS);
    expect(second.rows[0]).toEqual(first.rows[0]);
  });
});
