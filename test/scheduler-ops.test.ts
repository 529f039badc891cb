// The built-in schedules' jobs (ops.*) on each engine with a real worker, and the boot check that
// refuses an invalid declared schedule, naming it.
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { toEnqueueRequest, validateJob } from '../producers/enqueue.ts';
import { builtinSchedules } from '../scheduler/builtin.ts';
import { ScheduleConfigError } from '../scheduler/schedule-config-error.ts';
import type { JobName } from '../workers/catalog.ts';
import { handlers as defaultHandlers } from '../workers/diagnostics/handlers.ts';
import { handlerDeps } from '../workers/handlers.ts';
import { opsModule, retentionCleanup } from '../workers/ops/handlers.ts';
import type { HandlerContext } from '../workers/runtime.ts';
import { describeEngines } from './engines.ts';
import { needsRole, quietLogger, REDIS_URL, setup, testConfig, uniquePrefix, waitFor } from './helpers.ts';

const handlerCtx = (): HandlerContext => ({
  jobId: 'test-job',
  attempt: 1,
  maxAttempts: 1,
  signal: new AbortController().signal,
  log: quietLogger,
  progress: async () => {},
});

describeEngines('ops jobs', (engine) => {
  it('dead-letter digest: nothing when there are no dead letters, one email.send when there are', async () => {
    const t = await setup({ engine, OPS_EMAIL: 'oncall@example.com' });
    const ops = await opsModule(handlerDeps({ config: t.config, logger: quietLogger, backend: t.backend }));
    t.startWorker({ handlers: { ...defaultHandlers, ...ops.handlers }, queues: { default: 2, ops: 1 } });
    const enqueue = async (name: JobName, data: unknown) => {
      const v = validateJob({ name, data });
      if (!v.ok) throw new Error(JSON.stringify(v.details));
      return (await t.engine.enqueue(toEnqueueRequest(v.job, t.config))).job.id;
    };
    const digestData = { to: 'oncall@example.com', dashboardUrl: 'http://127.0.0.1:3000/dashboard/dead-letters' };
    const finished = (id: string) =>
      waitFor(
        async () => {
          const j = await t.engine.getJob(id);
          return j && ['completed', 'failed', 'dead'].includes(j.state) ? j : null;
        },
        { timeoutMs: 20_000, what: `job ${id} finished` },
      );

    const quiet = await finished(await enqueue('ops.dead-letter-digest', digestData));
    expect(quiet.result).toEqual({ sent: false, queues: 0 });

    await finished(await enqueue('diagnostics.sleep', { ms: 0, fail: 'permanent', tag: 'doomed' }));
    const digest = await finished(await enqueue('ops.dead-letter-digest', digestData));
    expect(digest.state).toBe('completed');
    const result = digest.result as { sent: boolean; total: number; emailJobId: string };
    expect(result).toMatchObject({ sent: true, total: 1 });
    const email = await t.engine.getJob(result.emailJobId);
    expect(email?.name).toBe('email.send');
    expect(email?.data).toMatchObject({
      to: 'oncall@example.com',
      template: 'dead-letter-digest',
      vars: { queues: [{ queue: 'default', count: 1 }] },
    });
  });

  it('retention cleanup removes finished jobs past retention and old dead letters', async (ctx) => {
    const t = await setup({ engine, RETENTION_COMPLETED_SECONDS: '1', IDEMPOTENCY_TTL_SECONDS: '1' });
    // an engine that expires finished jobs itself (pg-boss) has no sweeper: ops.retention-cleanup answers { skipped: true }
    needsRole(ctx, t.backend, 'retention', 'ops.retention-cleanup');
    t.startWorker({ queues: { default: 2 } });
    const add = async (data: unknown) => {
      const v = validateJob({ name: 'diagnostics.sleep', data });
      if (!v.ok) throw new Error('bad');
      return (await t.engine.enqueue(toEnqueueRequest(v.job, t.config))).job.id;
    };
    const ok = await add({ ms: 0 });
    const dead = await add({ ms: 0, fail: 'permanent' });
    await waitFor(async () => (await t.engine.getJob(ok))?.state === 'completed', { timeoutMs: 20_000, what: 'completed' });
    await waitFor(async () => (await t.engine.listDeadLetters(['default'], 10)).length === 1, { timeoutMs: 20_000, what: 'dead letter' });
    const deps = handlerDeps({ config: t.config, logger: quietLogger, backend: t.backend });
    // a day's age limit keeps the fresh dead letter
    await retentionCleanup(deps, { deadLetterMaxAgeSeconds: 86_400, limit: 1000 }, handlerCtx());
    expect(await t.engine.listDeadLetters(['default'], 10)).toHaveLength(1);
    // once the completed job is older than its 1 s retention, cleanup removes it; age 0 removes the dead letter
    await waitFor(
      async () => {
        const r = (await retentionCleanup(deps, { deadLetterMaxAgeSeconds: 0, limit: 1000 }, handlerCtx())) as {
          removed: Record<string, { completed: number }>;
        };
        return (r.removed.default?.completed ?? 0) > 0 || (await t.engine.getJob(ok)) === null;
      },
      { timeoutMs: 20_000, intervalMs: 250, what: 'completed job cleaned' },
    );
    expect(await t.engine.getJob(ok)).toBeNull();
    expect(await t.engine.listDeadLetters(['default'], 10)).toHaveLength(0);
    expect(dead).toBeTruthy();
  });
});

describe('declared schedules', () => {
  it('config overrides and disables built-ins; a bad override names the schedule', () => {
    const list = builtinSchedules(
      testConfig({
        SCHEDULES_DISABLED: 'retention-cleanup',
        SCHEDULES_OVERRIDES: JSON.stringify({ 'dead-letter-digest': { cron: '0 7 * * 1-5', timezone: 'Europe/Berlin' } }),
      }),
    );
    expect(list.find((s) => s.name === 'retention-cleanup')?.enabled).toBe(false);
    expect(list.find((s) => s.name === 'dead-letter-digest')).toMatchObject({
      cron: '0 7 * * 1-5',
      timezone: 'Europe/Berlin',
      enabled: true,
    });
    expect(() =>
      builtinSchedules(testConfig({ SCHEDULES_OVERRIDES: JSON.stringify({ 'retention-cleanup': { cron: '0 99 * * *' } }) })),
    ).toThrow(ScheduleConfigError);
    expect(() => builtinSchedules(testConfig({ SCHEDULES_DISABLED: 'no-such' }))).toThrow(
      /SCHEDULES_DISABLED: no built-in schedule "no-such"/,
    );
  });

  it('a built-in this deployment cannot run (demo-report without REPORTS_DATABASE_URL) may be disabled or overridden', () => {
    // before: "no built-in schedule demo-report", and web/all crashed at boot with a stack trace
    const config = testConfig({
      SCHEDULES_DISABLED: 'demo-report',
      SCHEDULES_OVERRIDES: JSON.stringify({ 'demo-report': { cron: '0 3 * * *' } }),
    });
    expect(config.REPORTS_DATABASE_URL).toBeUndefined();
    expect(builtinSchedules(config).map((s) => s.name)).toEqual(['dead-letter-digest', 'retention-cleanup']);
  });

  it('the scheduler process exits non-zero naming an invalid schedule', async () => {
    const child = spawn(resolve(import.meta.dirname, '../node_modules/.bin/tsx'), ['processes/scheduler.ts'], {
      cwd: resolve(import.meta.dirname, '..'),
      env: {
        ...process.env,
        REDIS_URL,
        QUEUE_PREFIX: uniquePrefix('boot'),
        NODE_ENV: 'test',
        SCHEDULES_OVERRIDES: JSON.stringify({ 'retention-cleanup': { cron: '0 99 * * *' } }),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      out += c.toString();
    });
    const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    expect(code).toBe(78);
    expect(out).toMatch(/schedule \\?"retention-cleanup\\?" is invalid: cron: hour/);
  }, 40_000);
});
