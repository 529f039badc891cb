// Several processes starting on one fresh pg-boss schema at once (a deploy rolling out web, workers and
// the scheduler together): each engine has its own pool, as separate processes do. Every start must
// succeed and leave one set of tables and queues.
import { afterEach, describe, expect, it } from 'vitest';
import { queueNames } from '../workers/catalog.ts';
import { makePgbossEngine, postgresUnavailable, uniqueSchema } from './pgboss-helpers.ts';

const why = await postgresUnavailable();
if (why) console.warn(`pg-boss first-start tests skipped: ${why}`);

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe.skipIf(!!why)('pg-boss first start', () => {
  it('five engines starting at once on a fresh schema all start (no duplicate key on conveyor_paused)', async () => {
    // before the install lock, one start in most rounds failed: duplicate key value violates unique
    // constraint "pg_type_typname_nsp_index" (Key … conveyor_paused …), or the same on a queue row
    for (let round = 0; round < 4; round++) {
      const schema = uniqueSchema('first');
      const made = Array.from({ length: 5 }, () => makePgbossEngine({ schema }));
      cleanups.push(async () => {
        for (const m of made.slice(1)) await m.engine.close();
        await (made[0] as (typeof made)[0]).cleanup();
      });
      const started = await Promise.allSettled(made.map((m) => m.engine.start()));
      const failures = started.flatMap((s) => (s.status === 'rejected' ? [String((s.reason as Error).message)] : []));
      expect(failures, `round ${round}`).toEqual([]);
      const { rows } = await (made[0] as (typeof made)[0]).engine.pool.query(`SELECT name FROM ${schema}.queue ORDER BY name`);
      const expected = queueNames.flatMap((q) => [q, `${q}-dlq`]).sort();
      expect(rows.map((r: { name: string }) => r.name).sort()).toEqual(expected);
    }
  });
});
