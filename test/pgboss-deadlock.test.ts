// core/engines/pgboss/deadlock.ts against a real deadlock: a multi-row UPDATE (as a completion batch or a
// start mark is) that Postgres picks as the deadlock victim is run again and lands, instead of being lost.
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { retryingDeadlocks } from '../core/engines/pgboss/deadlock.ts';
import { waitFor } from './helpers.ts';
import { DATABASE_URL, dropSchema, postgresUnavailable, uniqueSchema } from './pgboss-helpers.ts';

const why = await postgresUnavailable();
if (why) console.warn(`pg-boss deadlock test skipped: ${why}`);

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe.skipIf(!!why)('pg-boss writes and deadlocks', () => {
  it('a multi-row UPDATE chosen as the deadlock victim is retried and lands once', async () => {
    const schema = uniqueSchema('dl');
    const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 2 });
    const other = new pg.Client({ connectionString: DATABASE_URL });
    await other.connect();
    cleanups.push(() => dropSchema(schema));
    cleanups.push(() => pool.end());
    cleanups.push(() => other.end());
    await pool.query(`CREATE SCHEMA ${schema}; CREATE TABLE ${schema}.t (id int PRIMARY KEY, v int NOT NULL)`);
    await pool.query(`INSERT INTO ${schema}.t VALUES (1, 0), (2, 0)`);

    // the other session holds row 2 and will want row 1; it waits long before looking for deadlocks, so
    // our statement (default deadlock_timeout, 1 s) is the one Postgres cancels
    await other.query(`SET deadlock_timeout = '20s'`);
    await other.query('BEGIN');
    await other.query(`UPDATE ${schema}.t SET v = v + 10 WHERE id = 2`);
    let tries = 0;
    const ours = retryingDeadlocks(async () => {
      tries++;
      return pool.query(`UPDATE ${schema}.t SET v = v + 1 WHERE id = ANY($1::int[])`, [[1, 2]]);
    });
    // ours holds row 1 and waits for row 2; once it waits, the other session asks for row 1: a deadlock
    const waiting = async () =>
      Number(
        (await pool.query(`SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%SET v = v + 1%'`)).rows[0]
          ?.count,
      ) > 0;
    await waitFor(waiting, { what: 'our UPDATE waiting for row 2', timeoutMs: 10_000, intervalMs: 10 });
    const theirs = other.query(`UPDATE ${schema}.t SET v = v + 10 WHERE id = 1`).then(() => other.query('COMMIT'));
    await theirs;
    const result = await ours;
    expect(result.rowCount).toBe(2);
    expect(tries).toBe(2); // the first run was the deadlock victim
    const { rows } = await pool.query(`SELECT id, v FROM ${schema}.t ORDER BY id`);
    expect(rows).toEqual([
      { id: 1, v: 11 },
      { id: 2, v: 11 },
    ]);
  });
});
