// Real worker processes: kill -9 mid-job, and graceful shutdown within the grace period.
import { describe, expect, it } from 'vitest';
import { setup, waitFor } from './helpers.ts';
import { spawnConveyor } from './processes.ts';

const consuming = (l: Record<string, unknown>) => l.msg === 'consuming';
// child processes start slowly on a loaded machine: deadlines are generous, never assertions on speed
const START_MS = 45_000;

describe('worker processes', { timeout: 180_000 }, () => {
  it('a job whose worker is killed -9 mid-run completes exactly once on another worker', async () => {
    const t = await setup({ engine: 'bullmq', WORKER_LOCK_DURATION_MS: '2000', WORKER_STALLED_INTERVAL_MS: '1000' });
    const env = {
      REDIS_URL: t.config.REDIS_URL,
      QUEUE_PREFIX: t.config.QUEUE_PREFIX,
      WORKER_LOCK_DURATION_MS: '2000',
      WORKER_STALLED_INTERVAL_MS: '1000',
    };
    const a = spawnConveyor('worker', env);
    await a.waitForLog(consuming, 'worker A consuming', START_MS);
    const r = await t.api('POST', '/v1/jobs', { name: 'diagnostics.sleep', data: { ms: 8000, tag: 'survivor' } });
    expect(r.status).toBe(202);
    await waitFor(async () => (await t.api('GET', r.body.links.self)).body.state === 'active', {
      what: 'job active on A',
      timeoutMs: 30_000,
    });

    a.child.kill('SIGKILL');
    expect((await a.exited).signal).toBe('SIGKILL');

    const b = spawnConveyor('worker', env);
    await b.waitForLog(consuming, 'worker B consuming', START_MS);
    const done = await waitFor(
      async () => {
        const j = (await t.api('GET', r.body.links.self)).body;
        return j.state === 'completed' && j;
      },
      { what: 'job completed after the stall', timeoutMs: 60_000 },
    );
    expect(done.result).toMatchObject({ tag: 'survivor', pid: b.pid });
    expect(a.logs.filter((l) => l.msg === 'job completed')).toHaveLength(0);
    expect(b.logs.filter((l) => l.msg === 'job completed' && l.jobId === r.body.id)).toHaveLength(1);
    b.child.kill('SIGTERM');
    expect((await b.exited).code).toBe(0);
  });

  it('SIGTERM: stops fetching, finishes the in-flight job within the grace, exits 0', async () => {
    const t = await setup({ engine: 'bullmq' });
    const w = spawnConveyor('worker', {
      REDIS_URL: t.config.REDIS_URL,
      QUEUE_PREFIX: t.config.QUEUE_PREFIX,
      WORKER_SHUTDOWN_GRACE_MS: '20000',
    });
    await w.waitForLog(consuming, 'worker consuming', START_MS);
    const r = await t.api('POST', '/v1/jobs', { name: 'diagnostics.sleep', data: { ms: 1500 } });
    await waitFor(async () => (await t.api('GET', r.body.links.self)).body.state === 'active', { what: 'active', timeoutMs: 30_000 });
    w.child.kill('SIGTERM');
    await w.waitForLog((l) => l.msg?.toString().startsWith('shutting down') ?? false, 'shutdown began', 30_000);
    const after = await t.api('POST', '/v1/jobs', { name: 'diagnostics.noop', data: {} });
    const { code } = await w.exited;
    expect(code).toBe(0);
    const job = (await t.api('GET', r.body.links.self)).body;
    expect(job.state).toBe('completed');
    expect(job.result.pid).toBe(w.pid);
    // the job enqueued after SIGTERM was not taken by the stopping worker
    expect((await t.api('GET', after.body.links.self)).body.state).toBe('waiting');
  });

  it('SIGTERM with a job longer than the grace: exits after the grace, the job is recovered and re-run', async () => {
    const t = await setup({ engine: 'bullmq', WORKER_LOCK_DURATION_MS: '2000', WORKER_STALLED_INTERVAL_MS: '1000' });
    const env = {
      REDIS_URL: t.config.REDIS_URL,
      QUEUE_PREFIX: t.config.QUEUE_PREFIX,
      WORKER_SHUTDOWN_GRACE_MS: '500',
      WORKER_LOCK_DURATION_MS: '2000',
      WORKER_STALLED_INTERVAL_MS: '1000',
    };
    const w = spawnConveyor('worker', env);
    await w.waitForLog(consuming, 'worker consuming', START_MS);
    const r = await t.api('POST', '/v1/jobs', { name: 'diagnostics.sleep', data: { ms: 10_000 } });
    await waitFor(async () => (await t.api('GET', r.body.links.self)).body.state === 'active', { what: 'active', timeoutMs: 30_000 });
    w.child.kill('SIGTERM');
    expect((await w.exited).code).toBe(0);
    expect(w.logs.some((l) => l.abandoned === 1)).toBe(true);

    const next = spawnConveyor('worker', env);
    const done = await waitFor(
      async () => {
        const j = (await t.api('GET', r.body.links.self)).body;
        return j.state === 'completed' && j;
      },
      { what: 'recovered job completed', timeoutMs: 60_000 },
    );
    expect(done.result.pid).toBe(next.pid);
  });
});
