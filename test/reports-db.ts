// Test support for the reports suites: a unique PostgreSQL schema per test (dropped afterwards) and a
// scratch directory for report files. Real PostgreSQL at 127.0.0.1:5432 (database `test`).
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { onTestFinished } from 'vitest';

/** set by test/global-setup.ts (an embedded PostgreSQL when none answers) */
export const TEST_PG_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface TestSchema {
  schema: string;
  /** a connection string whose search_path is the test schema */
  url: string;
  /** an admin pool on the test database (not the schema's search_path) */
  admin: pg.Pool;
}

export async function testSchema(): Promise<TestSchema> {
  const schema = `cvt_reports_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Pool({ connectionString: TEST_PG_URL, max: 2 });
  admin.on('error', () => {});
  await admin.query(`CREATE SCHEMA ${schema}`);
  onTestFinished(async () => {
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin.end();
  });
  const url = new URL(TEST_PG_URL);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return { schema, url: url.toString(), admin };
}

export async function tempDir(label = 'reports'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `cvt-${label}-`));
  onTestFinished(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

export async function filesIn(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

/** Backends of an application_name that are running a statement or sitting in a transaction. */
export async function busyBackends(admin: pg.Pool, applicationName: string): Promise<{ pid: number; state: string; query: string }[]> {
  const r = await admin.query(
    `SELECT pid, state, query FROM pg_stat_activity
      WHERE application_name = $1 AND state IN ('active', 'idle in transaction', 'idle in transaction (aborted)')`,
    [applicationName],
  );
  return r.rows;
}
