// The cost of recording flow job ends on Postgres (core/engines/pgboss/stores/flows/sql/flows-finish.sql) must
// follow the batch, not the flow: a new flow's rows have no statistics until autovacuum analyzes them, and a
// join of the batch's ends with the flow's jobs was planned as if the flow had one row. A root's end compared
// each of its 1,000 children with every one of them (999,000 rows filtered, 300 ms), and 49 middle ends
// 44,000 rows: the pg-boss flow bench ran at 5× independent jobs. Counted here as the rows the statement reads
// from conveyor_flow_job and the rows its joins filter out (EXPLAIN ANALYZE), on deliberately stale
// statistics, rolled back so each case starts from the same flow.
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASE_URL, dropSchema, postgresUnavailable, uniqueSchema } from './pgboss-helpers.ts';

const why = await postgresUnavailable();
if (why) console.warn(`pg-boss flow finish tests skipped: ${why}`);

const FAN = 1_000;
const FLOW = 'flow-big';

const statement = (name: string, schema: string) =>
  readFileSync(new URL(`../core/engines/pgboss/stores/flows/sql/flows-${name}.sql`, import.meta.url), 'utf8')
    .replace(/^--.*\n/gm, '')
    .replaceAll('{schema}', schema);

interface PlanNode {
  'Relation Name'?: string;
  'Actual Rows'?: number;
  'Actual Loops'?: number;
  'Rows Removed by Join Filter'?: number;
  'Node Type': string;
  Plans?: PlanNode[];
}

/** rows read from conveyor_flow_job by scans, and rows thrown away by join filters, over the whole plan */
function cost(node: PlanNode, acc = { jobRows: 0, joinFiltered: 0 }) {
  if (node['Relation Name'] === 'conveyor_flow_job' && /Scan/.test(node['Node Type'])) {
    acc.jobRows += (node['Actual Rows'] ?? 0) * (node['Actual Loops'] ?? 1);
  }
  acc.joinFiltered += node['Rows Removed by Join Filter'] ?? 0;
  for (const p of node.Plans ?? []) cost(p, acc);
  return acc;
}

describe.skipIf(!!why)('pg-boss flow finish cost', () => {
  const schema = uniqueSchema('fin');
  const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 2 });
  const finish = statement('finish', schema);

  beforeAll(async () => {
    await pool.query(`CREATE SCHEMA ${schema}`);
    await pool.query(statement('create', schema));
    const job = (flow: string, key: string, parents: string[], children: string[], idx: number) =>
      pool.query(
        `INSERT INTO ${schema}.conveyor_flow_job (flow_id, key, idx, job_id, name, parents, children, spec, remaining)
         VALUES ($1, $2, $3, $1 || ':' || $2, 'diagnostics.noop', $4, $5, '{}', $6)`,
        [flow, key, idx, parents, children, parents.length],
      );
    // statistics taken while the store held one small flow (as autovacuum last saw it)...
    await pool.query(`INSERT INTO ${schema}.conveyor_flow (id, created_at, total) VALUES ('flow-small', now(), 2)`);
    await job('flow-small', 'a', [], ['b'], 0);
    await job('flow-small', 'b', ['a'], [], 1);
    await pool.query(`ANALYZE ${schema}.conveyor_flow, ${schema}.conveyor_flow_job`);
    // ...then a flow of 1 → 1,000 → 1 arrives
    await pool.query(`INSERT INTO ${schema}.conveyor_flow (id, created_at, total) VALUES ($1, now(), $2)`, [FLOW, FAN + 2]);
    const middle = Array.from({ length: FAN }, (_, i) => `m${i}`);
    await job(FLOW, 'root', [], middle, 0);
    await pool.query(
      `INSERT INTO ${schema}.conveyor_flow_job (flow_id, key, idx, job_id, name, parents, children, spec, remaining)
       SELECT $1, 'm' || i, i + 1, $1 || ':m' || i, 'diagnostics.noop', ARRAY['root'], ARRAY['sink'], '{}', 1
       FROM generate_series(0, $2 - 1) AS i`,
      [FLOW, FAN],
    );
    await job(FLOW, 'sink', middle, [], FAN + 1);
  });
  afterAll(async () => {
    await pool.end();
    await dropSchema(schema);
  });

  /** the plan's cost and the statement's answer for `ends`, after `before` ended, all rolled back */
  async function measure(ends: string[], before: string[] = []) {
    const c = await pool.connect();
    const batch = (keys: string[]) =>
      JSON.stringify(keys.map((key) => ({ key, final: 'completed', outcome: { state: 'completed', result: null }, failed: 0 })));
    try {
      await c.query('BEGIN');
      if (before.length > 0) await c.query(finish, [FLOW, batch(before)]);
      const { rows } = await c.query(`EXPLAIN (ANALYZE, FORMAT JSON) ${finish}`, [FLOW, batch(ends)]);
      const plan = cost(rows[0]['QUERY PLAN'][0].Plan as PlanNode);
      await c.query('ROLLBACK');
      await c.query('BEGIN');
      if (before.length > 0) await c.query(finish, [FLOW, batch(before)]);
      const answer = (await c.query(finish, [FLOW, batch(ends)])).rows[0];
      return { ...plan, answer };
    } finally {
      await c.query('ROLLBACK');
      c.release();
    }
  }

  it(`the root's end counts off its ${FAN.toLocaleString('en-US')} children reading each once`, async () => {
    const r = await measure(['root']);
    expect(r.joinFiltered).toBeLessThan(FAN);
    expect(r.jobRows).toBeLessThanOrEqual(FAN + 10);
    expect(r.answer).toMatchObject({ state: 'running', finished: 1, total: FAN + 2, failed: 0 });
    expect(r.answer.kids).toHaveLength(FAN);
    expect(r.answer.kids.every((k: { remaining: number }) => k.remaining === 0)).toBe(true);
  });

  it('50 middle ends read their own 50 rows and the sink, not the flow', async () => {
    const ends = Array.from({ length: 50 }, (_, i) => `m${i * 7}`);
    const r = await measure(ends, ['root']);
    expect(r.joinFiltered).toBeLessThan(500);
    expect(r.jobRows).toBeLessThanOrEqual(ends.length + 10);
    expect(r.answer).toMatchObject({ finished: 51 });
    expect(r.answer.recorded.map((x: { key: string }) => x.key)).toEqual(ends);
    expect(r.answer.kids).toEqual([{ key: 'sink', remaining: FAN - 50, failed_parents: 0, final: null }]);
  });

  it('an end already recorded records nothing', async () => {
    const r = await measure(['root'], ['root']);
    expect(r.answer).toBeUndefined();
  });
});
