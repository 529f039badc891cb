// The demo table behind the `demo.orders` report: created and filled idempotently by the release step
// and, in development, when a worker starts. Rows are deterministic and include the awkward values a
// CSV writer must get right (commas, quotes, line breaks, NULLs, non-ASCII).
import type pg from 'pg';
import type { ReleaseTask } from '../../core/release.ts';
import type { ReportsConfig } from './config.ts';
import { createReportsPool, demoEnabled, reportsDatabaseUrl } from './database.ts';

export const DEMO_ROWS = 10_000;

const DDL = `
CREATE TABLE IF NOT EXISTS demo_orders (
  id         bigint PRIMARY KEY,
  created_at timestamptz NOT NULL,
  customer   text NOT NULL,
  email      text NOT NULL,
  country    text,
  status     text NOT NULL,
  amount     numeric(12, 2) NOT NULL,
  note       text
);
CREATE INDEX IF NOT EXISTS demo_orders_created_at ON demo_orders (created_at)`;

const FILL = `
INSERT INTO demo_orders (id, created_at, customer, email, country, status, amount, note)
SELECT g,
       timestamptz '2026-01-01 00:00:00+00' + g * interval '47 minutes',
       (ARRAY['Ada Lovelace', 'Grace "Amazing" Hopper', 'Müller, Jürgen', 'O''Brien & Sons', 'Zoë Ångström', '李雷'])[1 + g % 6],
       'customer' || (g % 500) || '@example.com',
       (ARRAY['GB', 'DE', 'FR', 'US', NULL])[1 + g % 5],
       (ARRAY['pending', 'paid', 'shipped', 'refunded'])[1 + g % 4],
       round((5 + (g * 7919 % 100000) / 100.0)::numeric, 2),
       CASE g % 7 WHEN 0 THEN NULL WHEN 1 THEN E'gift wrap\\nleave at the door' WHEN 2 THEN 'call first, then ring' ELSE '' END
  FROM generate_series(1, $1::int) AS g
ON CONFLICT (id) DO NOTHING`;

/** Creates demo_orders (in the connection's search_path) and fills it; safe to run concurrently and again. */
export async function seedDemoOrders(db: pg.Pool | pg.ClientBase, rows = DEMO_ROWS): Promise<void> {
  if ('totalCount' in db) {
    // a pool: the transaction needs one connection of its own
    const client = await db.connect();
    try {
      return await seedDemoOrders(client, rows);
    } finally {
      client.release();
    }
  }
  const client = db;
  await client.query('BEGIN');
  try {
    await client.query("SELECT pg_advisory_xact_lock(hashtext('conveyor:demo_orders'))");
    await client.query(DDL);
    await client.query(FILL, [rows]);
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  }
}

export const reportsDemoReleaseTask: ReleaseTask<ReportsConfig> = {
  name: 'reports-demo-table',
  enabled: (config) => demoEnabled(config) && reportsDatabaseUrl(config) !== undefined,
  async run({ config }) {
    const pool = createReportsPool(reportsDatabaseUrl(config) as string, { max: 1, applicationName: 'conveyor-release' });
    try {
      await seedDemoOrders(pool);
    } finally {
      await pool.end();
    }
  },
};
