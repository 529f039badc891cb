// Scaling per process type (issue 14): worker process types per queue set (WORKER_PROCESS_TYPES, the
// Procfile's worker_* lines), each with its own signal. The reported bug: 40 reports waiting ten minutes
// recommended 1 replica because the idle search queue's concurrency of 200 was counted.
import { describe, expect, it } from 'vitest';
import { computeScaling, processTypesOf } from '../core/metrics/scaling.ts';
import { toEnqueueRequest, validateJob } from '../producers/enqueue.ts';
import { queues } from '../workers/catalog.ts';
import { ConfigError, loadConfig } from '../workers/config.ts';
import { supervisedType } from '../workers/supervisor.ts';
import { describeEngines } from './engines.ts';
import { setup, waitFor } from './helpers.ts';

const TYPES = JSON.stringify([
  { name: 'worker_email', queues: 'email,*' },
  { name: 'worker_reports', queues: 'reports', replicas: '0:30' },
  { name: 'worker_search', queues: 'search' },
]);

describe('process types', () => {
  it('the reported bug: idle search slots no longer hide a reports backlog, even on one `worker` of every queue', () => {
    const info = (name: string, waiting: number, age: number) => ({
      name,
      paused: false,
      counts: { waiting, delayed: 0, active: 0, completed: 0, failed: 0, dead: 0 },
      oldestWaitingAgeSeconds: age,
    });
    const s = computeScaling({
      processTypes: { worker: { queues: { reports: 2, search: 200 }, min: 1, max: 30 } },
      queueInfo: [info('reports', 40, 600), info('search', 0, 0)],
      finishedInWindow: {},
      windowSeconds: 60,
      targetLatencySeconds: 10,
      now: 0,
    });
    // was ceil(40 / 202) = 1: now the reports queue alone needs 40 / 2 per replica
    expect(s.processTypes.worker).toMatchObject({ recommendedReplicas: 20, concurrencyPerReplica: 202 });
    expect(s.processTypes.worker?.reason).toMatch(/behind on reports/);
  });

  it('default split: worker_email takes every queue no other type names; WORKER_PROCESS_TYPE sets the worker’s queues', () => {
    const c = loadConfig({ REDIS_URL: 'redis://127.0.0.1:6379' });
    expect(Object.fromEntries(c.WORKER_PROCESS_TYPES.map((t) => [t.name, Object.keys(t.queues).sort()]))).toEqual({
      worker_email: ['default', 'email', 'http', 'ops', 'webhooks'],
      worker_reports: ['reports'],
      worker_search: ['search'],
    });
    // every catalog queue is served by exactly one production type
    expect(c.WORKER_PROCESS_TYPES.flatMap((t) => Object.keys(t.queues)).sort()).toEqual(Object.keys(queues).sort());
    expect(Object.keys(processTypesOf(c, queues))).toEqual(['worker', 'worker_email', 'worker_reports', 'worker_search']);

    const reports = loadConfig({ REDIS_URL: 'redis://127.0.0.1:6379', WORKER_PROCESS_TYPE: 'worker_reports' });
    expect(reports.WORKER_QUEUES).toEqual({ reports: undefined });
    // the one-machine supervisor of that type follows the type's queue set
    expect(supervisedType(reports, { min: 1, max: 4 })).toEqual({
      type: 'worker_reports',
      processTypes: { worker_reports: { queues: { reports: 2 }, min: 1, max: 4 } },
    });
    // `worker` still answers for every queue in the process that is worker_reports (the web's view)
    expect(Object.keys(processTypesOf(reports, queues).worker?.queues ?? {}).sort()).toEqual(Object.keys(queues).sort());
  });

  it('names a bad process type setting', () => {
    for (const [env, variable] of [
      [{ WORKER_PROCESS_TYPE: 'worker_nope' }, 'WORKER_PROCESS_TYPE'],
      [{ WORKER_PROCESS_TYPE: 'worker_search', WORKER_QUEUES: 'search' }, 'WORKER_PROCESS_TYPE'],
      [{ WORKER_PROCESS_TYPES: '[{"name":"reports","queues":"reports"}]' }, 'WORKER_PROCESS_TYPES'],
      [{ WORKER_PROCESS_TYPES: '[{"name":"worker_a","queues":"x"},{"name":"worker_a","queues":"y"}]' }, 'WORKER_PROCESS_TYPES'],
    ] as const) {
      let err: unknown;
      try {
        loadConfig(env);
      } catch (e) {
        err = e;
      }
      expect(err, JSON.stringify(env)).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).problems.map((p) => p.variable)).toContain(variable);
    }
  });
});

describeEngines('scaling per process type', { timeout: 60_000 }, (engine) => {
  it('a reports backlog drives worker_reports, not the others; /v1/scaling and the HireFire JSON agree', async () => {
    const t = await setup({ engine, WORKER_PROCESS_TYPES: TYPES, SCALING_TARGET_LATENCY_SECONDS: '1' });
    const v = validateJob({ name: 'report.generate', data: { report: 'demo.series', params: { rows: 10 } } });
    if (!v.ok) throw new Error(JSON.stringify(v.details));
    await t.engine.enqueueMany(Array.from({ length: 40 }, () => toEnqueueRequest(v.job, t.config)));
    // no worker runs: the backlog ages past the 1 s target
    await waitFor(async () => ((await t.engine.queueInfo(['reports']))[0]?.oldestWaitingAgeSeconds ?? 0) > 1.5, {
      what: 'reports backlog older than the target',
    });
    const res = await t.api('GET', '/v1/scaling');
    expect(res.status).toBe(200);
    const types = res.body.processTypes;
    expect(types.worker_reports).toMatchObject({ queues: ['reports'], depth: 40, recommendedReplicas: 20, concurrencyPerReplica: 2 });
    expect(types.worker_email).toMatchObject({ depth: 0, recommendedReplicas: 1 });
    expect(types.worker_email.queues.sort()).toEqual(['default', 'email', 'http', 'ops', 'webhooks']);
    expect(types.worker_search).toMatchObject({ queues: ['search'], depth: 0, recommendedReplicas: 1 });
    expect(types.worker).toMatchObject({ depth: 40, recommendedReplicas: 10 }); // every queue; clamped to SCALING_WORKER_REPLICAS

    const hirefire = await t.api('GET', '/v1/scaling/hirefire');
    expect(hirefire.body).toEqual([
      { name: 'worker', quantity: 10 },
      { name: 'worker_email', quantity: 1 },
      { name: 'worker_reports', quantity: 20 },
      { name: 'worker_search', quantity: 1 },
    ]);
    expect((await t.api('GET', '/v1/scaling/hirefire', undefined, { key: t.keys.noopOnly })).status).toBe(403);
  });
});
