// The Bull Board adapter for the pgboss engine, driven through its adapter API (what the board's
// routes call): counts, lists per state, job detail, retry of a dead job, promote, clean, pause. Real PostgreSQL.
import type { AddressInfo } from 'node:net';
import { createBullBoard } from '@bull-board/api';
import { ExpressAdapter } from '@bull-board/express';
import express from 'express';
import { describe, expect, it, onTestFinished } from 'vitest';
import { type PgbossQueueAdapter, pgbossBoardSource } from '../core/engines/pgboss/bull-board-adapter.ts';
import { type JobOptions, toEnqueueRequest, validateJob } from '../producers/enqueue.ts';
import { type JobName, type PayloadInput, queueNames } from '../workers/catalog.ts';
import { startWorkers } from '../workers/runtime.ts';
import { quietLogger, testConfig, waitFor } from './helpers.ts';
import { makePgbossEngine, postgresUnavailable } from './pgboss-helpers.ts';

const retention = testConfig();
const why = await postgresUnavailable();
if (why) console.warn(`pg-boss board tests skipped: ${why}`);

function request<N extends JobName>(name: N, data: PayloadInput<N>, options: JobOptions = {}) {
  const v = validateJob({ name, data, options });
  if (!v.ok) throw new Error(`bad test job: ${JSON.stringify(v.details)}`);
  return toEnqueueRequest(v.job, retention, {});
}

describe.skipIf(!!why)('Bull Board adapter for pg-boss', () => {
  it('shows counts and jobs per state with detail; retries a dead job from the dead-letter queue; promotes, cleans, pauses', async () => {
    const made = makePgbossEngine();
    onTestFinished(made.cleanup);
    const { engine } = made;
    const board = pgbossBoardSource(engine, queueNames);
    const adapters = board.adapters(false);
    expect(adapters.map((a) => a.getName())).toContain('default-dlq');
    const main = adapters.find((a) => a.getName() === 'default') as PgbossQueueAdapter;
    const dlq = adapters.find((a) => a.getName() === 'default-dlq') as PgbossQueueAdapter;

    const html = '<img src=x onerror=alert(1)>';
    const waiting = await engine.enqueue(request('diagnostics.noop', { note: html }));
    const delayed = await engine.enqueue(request('diagnostics.noop', { note: 'later' }, { delay: 600_000 }));
    let failing = true;
    const doomed = await engine.enqueue(request('diagnostics.sleep', { ms: 0, tag: 'doomed' }, { attempts: 1 }));

    expect(await main.getJobCounts()).toMatchObject({ waiting: 2, delayed: 1, active: 0, completed: 0, failed: 0 });
    const listed = await main.getJobs(['waiting'], 0, 9);
    expect(listed.map((j) => j.toJSON().id).sort()).toEqual([waiting.job.id, doomed.job.id].sort());
    const detail = (await main.getJob(waiting.job.id))?.toJSON();
    // data is handed to the board as JSON values (rendered as text), our envelope stripped
    expect(detail?.data).toEqual({ note: html });
    expect(detail?.name).toBe('diagnostics.noop');
    expect(await (await main.getJob(delayed.job.id))?.getState()).toBe('delayed');

    const rt = startWorkers({
      engine,
      logger: quietLogger,
      handlers: {
        'diagnostics.noop': async () => null,
        'diagnostics.sleep': async () => {
          if (failing) throw new Error('no luck');
          return 'second time lucky';
        },
      },
      queues: { default: 2 },
    });
    onTestFinished(() => rt.close(1_000).then(() => undefined));
    await waitFor(async () => (await engine.getJob(doomed.job.id))?.state === 'dead', { what: 'dead' });
    await waitFor(async () => (await main.getJobCounts()).completed === 1, { what: 'one completed' });

    const [letter] = await dlq.getJobs(['waiting'], 0, 9);
    const lj = letter?.toJSON();
    expect(lj).toMatchObject({ id: doomed.job.id, name: 'diagnostics.sleep', data: { ms: 0, tag: 'doomed' } });
    expect(lj?.failedReason).toContain('no luck');
    expect(lj?.stacktrace?.[0]).toContain('Error: no luck');
    expect((await main.getJobs(['failed'], 0, 9)).map((j) => j.toJSON().id)).toEqual([doomed.job.id]);

    failing = false;
    await letter?.retry('failed'); // the board's "retry" on a dead letter replays it under its id
    const redone = await waitFor(async () => {
      const j = await engine.getJob(doomed.job.id);
      return j?.state === 'completed' && j;
    });
    expect(redone.result).toBe('second time lucky');
    expect((await dlq.getJobCounts()).waiting).toBe(0);

    await (await main.getJob(delayed.job.id))?.promote();
    await waitFor(async () => (await engine.getJob(delayed.job.id))?.state === 'completed', { what: 'promoted job ran' });

    await main.clean('completed', 0);
    expect((await main.getJobCounts()).completed).toBe(0);

    await main.pause();
    expect(await main.isPaused()).toBe(true);
    await main.resume();
    expect(await main.isPaused()).toBe(false);
    await expect(main.addJob()).rejects.toThrow(/POST \/v1\/jobs/);
  });

  it('serves Bull Board’s own API from the adapters: queue list with counts, jobs, detail, pause', async () => {
    const made = makePgbossEngine();
    onTestFinished(made.cleanup);
    const { engine } = made;
    const { job } = await engine.enqueue(request('diagnostics.noop', { note: '<b>bold?</b>' }));
    await engine.enqueue(request('diagnostics.noop', {}, { delay: 600_000 }));
    const serverAdapter = new ExpressAdapter().setBasePath('/board');
    createBullBoard({ queues: pgbossBoardSource(engine, queueNames).adapters(false), serverAdapter });
    const app = express();
    app.use('/board', serverAdapter.getRouter());
    const server = app.listen(0, '127.0.0.1');
    await new Promise<void>((r) => server.once('listening', () => r()));
    onTestFinished(() => new Promise<void>((r) => server.close(() => r())));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/board/api`;

    const list = (await (await fetch(`${base}/queues?activeQueue=default&status=waiting&page=1`)).json()) as any;
    const q = list.queues.find((x: { name: string }) => x.name === 'default');
    expect(list.queues.map((x: { name: string }) => x.name)).toContain('default-dlq');
    expect(q.counts).toMatchObject({ waiting: 1, delayed: 1, active: 0 });
    expect(q.jobs.map((j: { id: string }) => j.id)).toEqual([job.id]);
    expect(q.jobs[0].data).toEqual({ note: '<b>bold?</b>' }); // a JSON string value, shown as text
    const detail = await fetch(`${base}/queues/default/${job.id}`);
    expect(detail.status).toBe(200);
    expect(((await detail.json()) as any).job.name).toBe('diagnostics.noop');
    expect((await fetch(`${base}/queues/default/pause`, { method: 'PUT' })).status).toBe(200);
    expect((await engine.queueInfo(['default']))[0]?.paused).toBe(true);
  });
});
