// pg-boss retention, with Postgres time moved back by UPDATE (never real days): failed and cancelled
// jobs keep RETENTION_FAILED_SECONDS, waiting and delayed jobs are kept until they run, dead letters keep
// DEAD_LETTER_RETENTION_SECONDS.
import { afterEach, describe, expect, it } from 'vitest';
import { toEnqueueRequest, validateJob } from '../producers/enqueue.ts';
import { handlers } from '../workers/diagnostics/handlers.ts';
import { startWorkers } from '../workers/runtime.ts';
import { quietLogger, testConfig, waitFor } from './helpers.ts';
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

  it('a completed job is deleted soon after its retention, without waiting for pg-boss’s daily maintenance', async () => {
    // retention 4 s → maintenance every second (a quarter, at least the supervise interval); pg-boss's own
    // default ran the deletion once a day per queue, so a 5-minute retention kept jobs for up to a day
    const short = testConfig({ IDEMPOTENCY_TTL_SECONDS: '4', RETENTION_COMPLETED_SECONDS: '4', RETENTION_FAILED_SECONDS: '4' });
    const { engine, cleanup } = makePgbossEngine({ superviseIntervalSeconds: 1, retentionSeconds: 4 });
    cleanups.push(cleanup);
    await engine.start();
    const v = validateJob({ name: 'diagnostics.sleep', data: { ms: 1 } });
    if (!v.ok) throw new Error('bad job');
    const rt = startWorkers({ engine, logger: quietLogger, handlers, queues: { default: 1 } });
    cleanups.push(() => rt.close(1_000).then(() => {}));
    const { job } = await engine.enqueue(toEnqueueRequest(v.job, short));
    await waitFor(async () => (await engine.getJob(job.id))?.state === 'completed', { what: 'the job completed', timeoutMs: 15_000 });
    await waitFor(async () => (await engine.getJob(job.id)) === null, { what: 'the completed job deleted', timeoutMs: 20_000 });
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

describe.skipIf(!!why)('pg-boss dead-letter retention', () => {
  it('a dead letter is kept DEAD_LETTER_RETENTION_SECONDS (30 days here), not 7 days, and dropped after', async () => {
    const { engine, schema, cleanup } = makePgbossEngine({ superviseIntervalSeconds: 3600, deadLetterRetentionSeconds: 30 * 86_400 });
    cleanups.push(cleanup);
    await engine.start();
    const v = validateJob({ name: 'diagnostics.sleep', data: { ms: 0 }, options: { attempts: 1 } });
    if (!v.ok) throw new Error('bad job');
    const { job } = await engine.enqueue(toEnqueueRequest(v.job, config));
    const rt = startWorkers({
      engine,
      logger: quietLogger,
      handlers: { 'diagnostics.sleep': async () => Promise.reject(new Error('no luck')) },
      queues: { default: 1 },
    });
    cleanups.push(() => rt.close(1_000).then(() => undefined));
    await waitFor(async () => (await engine.getJob(job.id))?.state === 'dead', { what: 'dead' });
    expect((await engine.listDeadLetters(['default'], 10)).map((l) => l.id)).toEqual([job.id]);
    // pg-boss's own copies (deaths by heartbeat) take the dead-letter queue's retention
    const queue = await engine.pool.query(`SELECT retention_seconds FROM ${schema}.queue WHERE name = 'default-dlq'`);
    expect(queue.rows[0].retention_seconds).toBe(30 * 86_400);
    const back = (days: number) =>
      engine.pool.query(
        `UPDATE ${schema}.job SET created_on = created_on - $1 * interval '1 day', start_after = start_after - $1 * interval '1 day',
           keep_until = keep_until - $1 * interval '1 day' WHERE name = 'default-dlq'`,
        [days],
      );
    await back(8); // past RETENTION_FAILED_SECONDS (1 day here) and pg-boss's 7 days: kept
    await engine.boss.supervise('default-dlq');
    expect((await engine.listDeadLetters(['default'], 10)).map((l) => l.id)).toEqual([job.id]);
    await back(23); // 31 days: dropped
    await engine.pool.query(`UPDATE ${schema}.queue SET maintain_on = NULL, monitor_on = NULL, monitor_claim_on = NULL`); // due again
    await engine.boss.supervise('default-dlq');
    expect(await engine.listDeadLetters(['default'], 10)).toEqual([]);
  });
});
