// Real worker processes (processes/main.ts worker) on each engine: a worker killed -9 mid-job loses nothing
// (the job runs again on another worker once stall recovery finds it, and completes exactly once), and
// SIGTERM finishes the in-flight job within the grace or leaves it to that recovery.
import { expect, it } from 'vitest';
import { describeEngines } from './engines.ts';
import { type EngineName, setup, type TestPlatform, waitFor } from './helpers.ts';
import { spawnConveyor } from './processes.ts';

const consuming = (l: Record<string, unknown>) => l.msg === 'consuming' && l.queue === 'default';
// child processes start slowly on a loaded machine: deadlines are generous, never assertions on speed
const START_MS = 45_000;

/**
 * How soon a dead worker's job is found: BullMQ's lock lapses after WORKER_LOCK_DURATION_MS; pg-boss's
 * heartbeat (the same setting) is at least 10 s. Both look every WORKER_STALLED_INTERVAL_MS.
 */
const stallRecovery: Record<EngineName, Record<string, string>> = {
  bullmq: { WORKER_LOCK_DURATION_MS: '2000', WORKER_STALLED_INTERVAL_MS: '1000' },
  pgboss: { WORKER_LOCK_DURATION_MS: '10000', WORKER_STALLED_INTERVAL_MS: '1000' },
};

/** The test's platform, its store installed as the release step leaves it before any process starts. */
async function platform(engine: EngineName, settings: Record<string, string> = {}) {
  const t = await setup({ engine, ...settings });
  await t.backend.release?.run();
  return t;
}

/** A worker process on the test's engine and prefix, consuming `default`. */
const worker = (t: TestPlatform, env: Record<string, string> = {}) =>
  spawnConveyor('worker', { ...t.env, WORKER_QUEUES: 'default', ...env });

const jobIn = (t: TestPlatform, id: string, state: string, what: string, timeoutMs: number) =>
  waitFor(
    async () => {
      const j = (await t.api('GET', `/v1/jobs/${id}`)).body;
      return j.state === state && j;
    },
    { what, timeoutMs },
  );

describeEngines('worker processes', { timeout: 180_000 }, (engine) => {
  it('a job whose worker is killed -9 mid-run completes exactly once on another worker', async () => {
    const t = await platform(engine, stallRecovery[engine]);
    const a = worker(t, stallRecovery[engine]);
    await a.waitForLog(consuming, 'worker A consuming', START_MS);
    const r = await t.api('POST', '/v1/jobs', { name: 'diagnostics.sleep', data: { ms: 8000, tag: 'survivor' } });
    expect(r.status).toBe(202);
    await jobIn(t, r.body.id, 'active', 'job active on A', 30_000);

    a.child.kill('SIGKILL');
    expect((await a.exited).signal).toBe('SIGKILL');

    const b = worker(t, stallRecovery[engine]);
    await b.waitForLog(consuming, 'worker B consuming', START_MS);
    const done = await jobIn(t, r.body.id, 'completed', 'job completed after the stall', 90_000);
    // a crash is not the job's failure: the re-run is still attempt 1
    expect(done.result).toMatchObject({ tag: 'survivor', pid: b.pid, attempt: 1 });
    // the store can say completed before B's log line reaches us on a loaded machine: wait for the line,
    // then count after B has exited (its stdout is flushed by then)
    await b.waitForLog((l) => l.msg === 'job completed' && l.jobId === r.body.id, 'B logged the completion', 30_000);
    b.child.kill('SIGTERM');
    expect((await b.exited).code).toBe(0);
    expect(a.logs.filter((l) => l.msg === 'job completed')).toHaveLength(0);
    expect(b.logs.filter((l) => l.msg === 'job completed' && l.jobId === r.body.id)).toHaveLength(1);
  });

  it('SIGTERM: stops fetching, finishes the in-flight job within the grace, exits 0', async () => {
    const t = await platform(engine);
    const w = worker(t, { WORKER_SHUTDOWN_GRACE_MS: '20000' });
    await w.waitForLog(consuming, 'worker consuming', START_MS);
    const r = await t.api('POST', '/v1/jobs', { name: 'diagnostics.sleep', data: { ms: 1500 } });
    await jobIn(t, r.body.id, 'active', 'active', 30_000);
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
    const t = await platform(engine, stallRecovery[engine]);
    const env = { WORKER_SHUTDOWN_GRACE_MS: '500', ...stallRecovery[engine] };
    const w = worker(t, env);
    await w.waitForLog(consuming, 'worker consuming', START_MS);
    const r = await t.api('POST', '/v1/jobs', { name: 'diagnostics.sleep', data: { ms: 10_000 } });
    await jobIn(t, r.body.id, 'active', 'active', 30_000);
    w.child.kill('SIGTERM');
    expect((await w.exited).code).toBe(0);
    expect(w.logs.some((l) => l.abandoned === 1)).toBe(true);

    const next = worker(t, env);
    const done = await jobIn(t, r.body.id, 'completed', 'recovered job completed', 90_000);
    expect(done.result.pid).toBe(next.pid);
  });
});
