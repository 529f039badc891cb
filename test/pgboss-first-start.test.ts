// Several processes starting on one fresh pg-boss schema at once (a deploy rolling out web, workers and
// the scheduler together): each engine has its own pool, as separate processes do. Every start must
// succeed and leave one set of tables and queues.
import { afterEach, describe, expect, it } from 'vitest';
import { toEnqueueRequest, validateJob } from '../producers/enqueue.ts';
import { queueNames } from '../workers/catalog.ts';
import { testConfig } from './helpers.ts';
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

  it('an upgrade swaps the job-search GIN on the whole envelope for the one on payload and kind, and search still finds by payload', async () => {
    const schema = uniqueSchema('gin');
    const first = makePgbossEngine({ schema });
    cleanups.push(first.cleanup);
    await first.engine.start();
    const indexes = async () =>
      (
        await first.engine.pool.query(
          `SELECT indexname FROM pg_indexes WHERE schemaname = $1 AND tablename = 'job' AND indexname LIKE 'conveyor_job_search%' ORDER BY 1`,
          [schema],
        )
      ).rows.map((r: { indexname: string }) => r.indexname);
    expect(await indexes()).toEqual(['conveyor_job_search_doc', 'conveyor_job_search_time']);
    // as a release before 2026-12 left it
    await first.engine.pool.query(`DROP INDEX ${schema}.conveyor_job_search_doc`);
    await first.engine.pool.query(`CREATE INDEX conveyor_job_search_data ON ${schema}.job USING gin (data jsonb_path_ops)`);
    const v = validateJob({ name: 'diagnostics.noop', data: { note: 'find-me' } });
    if (!v.ok) throw new Error('bad job');
    const { job } = await first.engine.enqueue(toEnqueueRequest(v.job, testConfig()));
    const next = makePgbossEngine({ schema });
    cleanups.push(() => next.engine.close());
    await next.engine.start();
    expect(await indexes()).toEqual(['conveyor_job_search_doc', 'conveyor_job_search_time']);
    const found = await next.engine.search({
      queues: ['default'],
      kinds: ['diagnostics.noop'],
      states: null,
      since: null,
      until: null,
      data: [{ path: ['note'], value: 'find-me', prefix: false }],
      cursor: null,
      limit: 10,
    });
    expect(found.jobs.map((j) => j.id)).toEqual([job.id]);
  });
});
