// pg-boss stall recovery (core/engines/pgboss/stalls.ts), driven in-process against real Postgres: a
// job "held by a dead worker" is one fetched through pg-boss whose heartbeat we move back in time.
import { afterEach, describe, expect, it } from 'vitest';
import { PgbossEngine } from '../core/engines/pgboss/engine.ts';
import { statements } from '../core/engines/pgboss/sql.ts';
import { toEnqueueRequest, validateJob } from '../producers/enqueue.ts';
import { queueNames } from '../workers/catalog.ts';
import { quietLogger, testConfig, waitFor } from './helpers.ts';
import { DATABASE_URL, dropSchema, postgresUnavailable, uniqueSchema } from './pgboss-helpers.ts';

const why = await postgresUnavailable();
if (why) console.warn(`pg-boss stall tests skipped: ${why}`);

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function engineWith(maxStalledCount: number) {
  const schema = uniqueSchema('stall');
  // the timer sweep is made rare: each test sweeps itself
  const engine = new PgbossEngine({
    databaseUrl: DATABASE_URL,
    schema,
    logger: quietLogger,
    queues: queueNames,
    maxConnections: 3,
    worker: { heartbeatSeconds: 10, superviseIntervalSeconds: 3600, maxStalledCount },
  });
  cleanups.push(() => dropSchema(schema));
  cleanups.push(() => engine.close());
  await engine.migrate();
  const sql = statements(schema);
  const row = async (id: string) =>
    (await engine.pool.query(`SELECT state, retry_count, started_on, output FROM ${schema}.job WHERE name = 'default' AND id = $1`, [id]))
      .rows[0];
  /** pg-boss's fetch, as a worker that then dies (after starting the run, unless only fetched ahead);
   * its heartbeat moved an hour back */
  const fetchAndDie = async (started = true) => {
    const [job] = await engine.boss.fetch('default', { batchSize: 1 });
    if (!job) throw new Error('nothing fetched');
    if (started) await engine.pool.query(sql['mark-started'], ['default', [job.id]]);
    await engine.pool.query(`UPDATE ${schema}.job SET heartbeat_on = now() - interval '1 hour' WHERE name = 'default' AND id = $1`, [
      job.id,
    ]);
    return job;
  };
  const enqueue = async () => {
    const v = validateJob({ name: 'diagnostics.sleep', data: { ms: 1 }, options: { attempts: 1 } });
    if (!v.ok) throw new Error('bad job');
    return (await engine.enqueue(toEnqueueRequest(v.job, testConfig()))).job;
  };
  return { engine, row, fetchAndDie, enqueue, schema, sql };
}

describe.skipIf(!!why)('pg-boss stall recovery', () => {
  it("a process's own sweep leaves the jobs it runs alone even when their heartbeat lapsed (a touch that lagged); another process's sweep does not", async () => {
    const { engine, row, enqueue, schema } = await engineWith(2);
    const job = await enqueue();
    let release: () => void = () => {};
    const running = new Promise<void>((r) => {
      release = r;
    });
    let started = false;
    const consumer = engine.consume('default', {
      concurrency: 1,
      run: async () => {
        started = true;
        await running;
        return { status: 'completed' as const, result: null };
      },
    });
    await waitFor(() => started, { what: 'the run started', timeoutMs: 20_000 });
    await engine.pool.query(`UPDATE ${schema}.job SET heartbeat_on = now() - interval '1 hour' WHERE name = 'default' AND id = $1`, [
      job.id,
    ]);
    expect(await engine.sweepStalled()).toEqual({ recovered: 0, dead: 0 });
    expect((await row(job.id)).state).toBe('active');
    // a second process (same store) does put it back: to it, the heartbeat says the worker is gone
    const other = new PgbossEngine({
      databaseUrl: DATABASE_URL,
      schema,
      logger: quietLogger,
      queues: queueNames,
      maxConnections: 2,
      worker: { heartbeatSeconds: 10, superviseIntervalSeconds: 3600, maxStalledCount: 2 },
    });
    cleanups.push(() => other.close());
    expect((await other.sweepStalled()).recovered).toBe(1);
    release();
    await consumer.close(2_000);
  });

  it('a started job whose worker died goes back without spending an attempt, one stall counted; past the limit it is dead-lettered', async () => {
    const { engine, row, fetchAndDie, enqueue } = await engineWith(1);
    const job = await enqueue();
    await fetchAndDie();
    expect(await engine.sweepStalled()).toEqual({ recovered: 1, dead: 0 });
    const back = await row(job.id);
    expect(back).toMatchObject({ state: 'retry', retry_count: 0, started_on: null });
    expect(back.output.stalls).toBe(1);
    expect((await engine.getJob(job.id))?.attempts.made).toBe(0);

    // the second stall is more than the limit (1): dead, with the stall reason
    const again = await fetchAndDie();
    expect(again.retryCount).toBe(0); // attempt 1 again: the stall spent nothing
    expect(await engine.sweepStalled()).toEqual({ recovered: 0, dead: 1 });
    const letters = await engine.listDeadLetters(['default'], 10);
    expect(letters).toHaveLength(1);
    expect(letters[0]).toMatchObject({ id: job.id, reason: 'stalled more than 1 times' });
    expect((await engine.getJob(job.id))?.state).toBe('dead');
  });

  it('a job only fetched ahead (never started) goes back untouched: no stall, attempt and started_on as before', async () => {
    const { engine, row, fetchAndDie, enqueue } = await engineWith(0);
    const job = await enqueue();
    await fetchAndDie(false);
    expect(await engine.sweepStalled()).toEqual({ recovered: 1, dead: 0 });
    const back = await row(job.id);
    expect(back).toMatchObject({ state: 'retry', retry_count: 0, started_on: null });
    expect(back.output?.stalls).toBeUndefined();
    expect(back.output?.started).toBeUndefined();
    expect(await engine.listDeadLetters(['default'], 10)).toHaveLength(0);
  });

  it('a start mark of an earlier attempt does not count for a later fetch that never started', async () => {
    const { engine, row, fetchAndDie, enqueue, schema, sql } = await engineWith(0);
    const job = await enqueue();
    const [fetched] = await engine.boss.fetch('default', { batchSize: 1 });
    if (!fetched) throw new Error('nothing fetched');
    await engine.pool.query(sql['mark-started'], ['default', [job.id]]);
    // the attempt fails and is retried (pg-boss's own fail: retry_count grows at the next fetch)
    await engine.pool.query(`UPDATE ${schema}.job SET state = 'retry', start_after = now() WHERE name = 'default' AND id = $1`, [job.id]);
    await fetchAndDie(false);
    expect(await engine.sweepStalled()).toEqual({ recovered: 1, dead: 0 });
    expect((await row(job.id)).output?.stalls).toBeUndefined();
  });

  it('a job another sweep is putting back (its row locked) is skipped, not dead-lettered as "stalled more than N times"', async () => {
    const { engine, row, fetchAndDie, enqueue, schema } = await engineWith(2);
    const job = await enqueue();
    await fetchAndDie();
    // another process's sweep holds the row (its recover-stalled statement has locked it and not committed)
    const other = await engine.pool.connect();
    cleanups.push(async () => other.release());
    await other.query('BEGIN');
    await other.query(`SELECT id FROM ${schema}.job WHERE name = 'default' AND id = $1 FOR UPDATE`, [job.id]);
    // this sweep skips the locked row in part 1, so part 2 must not take it for one over the stall limit
    expect(await engine.sweepStalled()).toEqual({ recovered: 0, dead: 0 });
    expect(await engine.listDeadLetters(['default'], 10)).toHaveLength(0);
    await other.query('ROLLBACK');
    expect(await engine.sweepStalled()).toEqual({ recovered: 1, dead: 0 });
    expect((await row(job.id)).output.stalls).toBe(1);
  });

  it('a job whose heartbeat is fresh is left alone', async () => {
    const { engine, row, enqueue } = await engineWith(1);
    const job = await enqueue();
    await engine.boss.fetch('default', { batchSize: 1 });
    expect(await engine.sweepStalled()).toEqual({ recovered: 0, dead: 0 });
    expect((await row(job.id)).state).toBe('active');
  });
});
