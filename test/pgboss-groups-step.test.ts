// The cost of one group step on Postgres (core/engines/pgboss/stores/sql/groups-create.sql) must not grow with
// the queue's parked jobs. A free once deleted by `queue, job_id AND held_since IS NULL`, which the planner
// answered from the partial parked index, walking every parked job of the queue: with 20,000 jobs over 1,000
// groups each free read thousands of pages and a grouped drain ran at 0.04× an ungrouped one. Counted in
// buffers (EXPLAIN ANALYZE, BUFFERS counts the function's nested statements too), not in time.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storeStatements } from '../core/engines/pgboss/stores/sql.ts';
import { DATABASE_URL, dropSchema, postgresUnavailable, uniqueSchema } from './pgboss-helpers.ts';

const why = await postgresUnavailable();
if (why) console.warn(`pg-boss group step tests skipped: ${why}`);

const PARKED = 5_000;

describe.skipIf(!!why)('pg-boss group step cost', () => {
  const schema = uniqueSchema('gstep');
  const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 2 });
  const sql = storeStatements(schema);

  beforeAll(async () => {
    await pool.query(`CREATE SCHEMA ${schema}`);
    // the step's release looks at pg-boss's job table; only the columns it reads
    await pool.query(`CREATE TABLE ${schema}.job (name text NOT NULL, id uuid NOT NULL, state text NOT NULL,
      start_after timestamptz NOT NULL, PRIMARY KEY (name, id))`);
    await pool.query(sql['groups-create']);
    // statistics taken while the list was nearly empty (as autovacuum sees a new queue), then PARKED jobs
    // parked over 500 other groups: the planner believes the parked index is tiny
    await pool.query(
      `INSERT INTO ${schema}.conveyor_group_job (queue, grp, job_id, ready_at) VALUES ('default', 'tenant-x', gen_random_uuid(), now())`,
    );
    await pool.query(`ANALYZE ${schema}.conveyor_group_job`);
    await pool.query(`INSERT INTO ${schema}.conveyor_group (queue, grp) VALUES ('default', 'g')`);
    await pool.query(
      `INSERT INTO ${schema}.conveyor_group_job (queue, grp, job_id, ready_at)
       SELECT 'default', 'tenant-' || (i % 500), gen_random_uuid(), now() FROM generate_series(1, $1) AS i`,
      [PARKED],
    );
  });
  afterAll(async () => {
    await pool.end();
    await dropSchema(schema);
  });

  /** shared buffers a free of `id` reads (its statements already planned in this session by a free of
   * `warmId`), rolled back so each case starts from the same state; `held` adds both as held slots first */
  async function buffersOfFree(id: string, warmId: string, held: boolean) {
    const c = await pool.connect();
    const step = (explain: string, job: string) =>
      c.query(
        `${explain} SELECT * FROM ${schema}.conveyor_group_free_many('default', 1, 0, ARRAY['g'], ARRAY[$1::uuid], 'conveyor_test')`,
        [job],
      );
    try {
      await c.query('BEGIN');
      if (held) {
        await c.query(
          `INSERT INTO ${schema}.conveyor_group_job (queue, grp, job_id, ready_at, held_since)
           SELECT 'default', 'g', u, now(), now() FROM unnest($1::uuid[]) AS u`,
          [[id, warmId]],
        );
      }
      await step('', warmId);
      const { rows } = await step('EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON)', id);
      const plan = rows[0]['QUERY PLAN'][0].Plan;
      return (plan['Shared Hit Blocks'] ?? 0) + (plan['Shared Read Blocks'] ?? 0);
    } finally {
      await c.query('ROLLBACK');
      c.release();
    }
  }

  it(`freeing a held slot reads a handful of pages, not the ${PARKED.toLocaleString('en-US')} parked jobs of the queue`, async () => {
    const held = '00000000-0000-4000-8000-000000000001';
    const pages = await buffersOfFree(held, '00000000-0000-4000-8000-000000000002', true);
    // a few dozen through the primary key; the walk of the parked index reads thousands
    expect(pages).toBeLessThan(200);
  });

  it('freeing a job that was never held (cancelled while parked) is as cheap and frees nothing', async () => {
    const { rows } = await pool.query(`SELECT job_id FROM ${schema}.conveyor_group_job WHERE held_since IS NULL LIMIT 1`);
    const pages = await buffersOfFree(rows[0].job_id, '00000000-0000-4000-8000-000000000003', false);
    expect(pages).toBeLessThan(200);
    const r = await pool.query(
      `SELECT * FROM ${schema}.conveyor_group_free_many('default', 1, 0, ARRAY['g'], ARRAY[$1::uuid], 'conveyor_test')`,
      [rows[0].job_id],
    );
    expect(r.rows).toEqual([{ k: '1', r: { freed: false, delays: [] } }]);
    const left = await pool.query(`SELECT count(*)::int AS n FROM ${schema}.conveyor_group_job WHERE job_id = $1`, [rows[0].job_id]);
    expect(left.rows[0].n).toBe(0);
  });

  /** group `grp` with `held` held slots and parked jobs in the given job states (oldest first); their ids */
  async function groupWith(grp: string, held: number, parked: string[], override?: object) {
    await pool.query(`INSERT INTO ${schema}.conveyor_group (queue, grp, override) VALUES ('default', $1, $2)`, [
      grp,
      override ? JSON.stringify(override) : null,
    ]);
    const heldIds: string[] = [];
    for (let i = 0; i < held; i++) {
      const { rows } = await pool.query(
        `INSERT INTO ${schema}.conveyor_group_job (queue, grp, job_id, ready_at, held_since)
         VALUES ('default', $1, gen_random_uuid(), now(), now()) RETURNING job_id`,
        [grp],
      );
      heldIds.push(rows[0].job_id);
    }
    const parkedIds: string[] = [];
    for (const [i, state] of parked.entries()) {
      const { rows } = await pool.query(
        `INSERT INTO ${schema}.conveyor_group_job (queue, grp, job_id, ready_at)
         VALUES ('default', $1, gen_random_uuid(), now() - make_interval(secs => $2)) RETURNING job_id`,
        [grp, 100 - i],
      );
      await pool.query(
        `INSERT INTO ${schema}.job (name, id, state, start_after) VALUES ('default', $1, $2, now() + interval '100 years')`,
        [rows[0].job_id, state],
      );
      parkedIds.push(rows[0].job_id);
    }
    return { heldIds, parkedIds };
  }
  const jobRow = async (id: string) =>
    (
      await pool.query(
        `SELECT extract(epoch FROM j.start_after - now()) AS due_in, extract(epoch FROM j.start_after) AS at, g.held_since IS NOT NULL AS held, g.job_id IS NOT NULL AS listed
         FROM ${schema}.job j LEFT JOIN ${schema}.conveyor_group_job g ON g.job_id = j.id WHERE j.id = $1`,
        [id],
      )
    ).rows[0];

  it("a free releases the group's oldest due parked job, skipping one that was cancelled while parked", async () => {
    const { heldIds, parkedIds } = await groupWith('h', 1, ['cancelled', 'created', 'created']);
    const { rows } = await pool.query(
      `SELECT * FROM ${schema}.conveyor_group_free_many('default', 1, 0, ARRAY['h'], ARRAY[$1::uuid], 'conveyor_test')`,
      [heldIds[0]],
    );
    expect(rows[0].r.freed).toBe(true);
    const [cancelled, next, last] = await Promise.all(parkedIds.map(jobRow));
    expect(cancelled.listed).toBe(false); // left the list
    expect(next).toMatchObject({ held: true, listed: true });
    expect(Number(next.due_in)).toBeLessThan(1);
    expect(last).toMatchObject({ held: false, listed: true });
    expect(Number(last.due_in)).toBeGreaterThan(3600);
  });

  it('two frees of a rate-limited group in one batch release two jobs one rate slot apart, and move its next slot on', async () => {
    const { heldIds, parkedIds } = await groupWith('r', 2, ['created', 'created', 'created'], { ratePerSecond: 1 });
    const { rows } = await pool.query(
      `SELECT * FROM ${schema}.conveyor_group_free_many('default', 2, 0, ARRAY['r', 'r'], $1::uuid[], 'conveyor_test')`,
      [heldIds],
    );
    expect(rows.map((r) => r.r.freed)).toEqual([true, true]);
    const [a, b, c] = await Promise.all(parkedIds.map(jobRow));
    expect(a.held && b.held && !c.held).toBe(true);
    expect(Number(b.at) - Number(a.at)).toBeCloseTo(1, 3);
    const g = await pool.query(
      `SELECT extract(epoch FROM next_at) AS s FROM ${schema}.conveyor_group WHERE queue = 'default' AND grp = 'r'`,
    );
    expect(Number(g.rows[0].s) - Number(a.at)).toBeCloseTo(2, 3);
    expect(rows[0].r.delays).toHaveLength(2);
  });

  it('a repeated id in one batch frees once', async () => {
    const { heldIds } = await groupWith('d', 1, []);
    const { rows } = await pool.query(
      `SELECT * FROM ${schema}.conveyor_group_free_many('default', 1, 0, ARRAY['d', 'd'], $1::uuid[], 'conveyor_test')`,
      [[heldIds[0], heldIds[0]]],
    );
    expect(rows.map((r) => r.r.freed)).toEqual([true, false]);
  });
});
