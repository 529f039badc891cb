// pg-boss retention, with Postgres time moved back by UPDATE (never real days): failed and cancelled
// jobs keep RETENTION_FAILED_SECONDS, waiting and delayed jobs are kept until they run.
import { afterEach, describe, expect, it } from 'vitest';
import { toEnqueueRequest, validateJob } from '../producers/enqueue.ts';
import { testConfig } from './helpers.ts';
import { makePgbossEngine, postgresUnavailable } from './pgboss-helpers.ts';

const why = await postgresUnavailable();
if (why) console.warn(`pg-boss retention tests skipped: ${why}`);

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const config = testConfig({ IDEMPOTENCY_TTL_SECONDS: '60', RETENTION_COMPLETED_SECONDS: '60', RETENTION_FAILED_SECONDS: '86400' });
const request = (delayMs?: number) => {
  const v = validateJob({ name: 'diagnostics.sleep', data: { ms: 1 }, options: delayMs ? { delay: delayMs } : {} });
  if (!v.ok) throw new Error('bad job');
  return toEnqueueRequest(v.job, config);
};

describe.skipIf(!!why)('pg-boss retention', () => {
  it('a cancelled job is kept RETENTION_FAILED_SECONDS, not RETENTION_COMPLETED_SECONDS', async () => {
    const { engine, schema, cleanup } = makePgbossEngine({ superviseIntervalSeconds: 3600 });
    cleanups.push(cleanup);
    await engine.start();
    const { job } = await engine.enqueue(request());
    expect((await engine.cancel(job.id)).toString()).toBeTruthy();
    const { rows } = await engine.pool.query(`SELECT deletion_seconds FROM ${schema}.job WHERE id = $1`, [job.id]);
    expect(rows[0].deletion_seconds).toBe(86_400);
    // an hour later (past the completed retention, inside the failed one) pg-boss's maintenance keeps it
    await engine.pool.query(`UPDATE ${schema}.job SET completed_on = completed_on - interval '1 hour' WHERE id = $1`, [job.id]);
    await engine.boss.supervise('default');
    expect((await engine.getJob(job.id))?.state).toBe('cancelled');
  });

  it('waiting and delayed jobs not started within 14 days are kept until they run', async () => {
    const { engine, schema, cleanup } = makePgbossEngine({ superviseIntervalSeconds: 3600 });
    cleanups.push(cleanup);
    await engine.start();
    const waiting = (await engine.enqueue(request())).job;
    const delayed = (await engine.enqueue(request(60_000))).job;
    // 30 days pass without a worker
    await engine.pool.query(
      `UPDATE ${schema}.job SET created_on = created_on - interval '30 days', start_after = start_after - interval '30 days',
         keep_until = keep_until - interval '30 days' WHERE name = 'default'`,
    );
    await engine.boss.supervise('default');
    expect((await engine.getJob(waiting.id))?.state).toBe('waiting');
    expect((await engine.getJob(delayed.id))?.state).toBe('waiting'); // its runAt is in the past now
  });
});
