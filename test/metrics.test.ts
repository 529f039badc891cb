// GET /metrics, GET /v1/scaling, the worker metrics port and /readyz on each engine, against a real
// HTTP server (setup()). Counters are per process, so assertions compare before/after.
import { expect, it, onTestFinished } from 'vitest';
import { createBackend } from '../core/engines/factory.ts';
import { startWorkerInstrumentation } from '../core/metrics/worker-server.ts';
import { runReadiness } from '../core/readiness.ts';
import { generateApiKey } from '../producers/auth.ts';
import { catalogView, queueNames } from '../workers/catalog.ts';
import { handlers } from '../workers/diagnostics/handlers.ts';
import { readinessChecks } from '../workers/domains.ts';
import { startWorkers } from '../workers/runtime.ts';
import { describeEngines } from './engines.ts';
import { DATABASE_URL, dropEngineData, engineEnv, quietLogger, setup, type TestPlatform, testConfig, waitFor } from './helpers.ts';

const TOKEN = 'metrics-token-for-tests-0123456789';

/** Prometheus text → [{ name, labels, value }] */
function parseMetrics(text: string) {
  const out: { name: string; labels: Record<string, string>; value: number }[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = line.match(/^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1] as string] = l[2] as string;
    out.push({ name: m[1] as string, labels, value: Number(m[3]) });
  }
  return out;
}

const value = (rows: ReturnType<typeof parseMetrics>, name: string, labels: Record<string, string> = {}) =>
  rows.filter((r) => r.name === name && Object.entries(labels).every(([k, v]) => r.labels[k] === v)).reduce((a, r) => a + r.value, 0);

async function scrape(t: TestPlatform, auth = `Bearer ${TOKEN}`) {
  const res = await fetch(`${t.baseUrl}/metrics`, { headers: { authorization: auth } });
  expect(res.status, await res.clone().text()).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/text\/plain/);
  return parseMetrics(await res.text());
}

describeEngines('GET /metrics', (engine) => {
  it('needs METRICS_TOKEN or a key with the metrics scope', async () => {
    const metricsKey = generateApiKey();
    const t = await setup({ engine, METRICS_TOKEN: TOKEN });
    const none = await fetch(`${t.baseUrl}/metrics`);
    expect(none.status).toBe(401);
    expect(((await none.json()) as { error: { code: string } }).error.code).toBe('unauthorized');
    expect((await fetch(`${t.baseUrl}/metrics`, { headers: { authorization: `Bearer ${t.keys.noopOnly}` } })).status).toBe(401);
    expect((await fetch(`${t.baseUrl}/metrics`, { headers: { authorization: 'Bearer wrong-token-wrong-token' } })).status).toBe(401);
    await scrape(t); // token
    await scrape(t, `Bearer ${t.keys.admin}`); // admin key
    // a key with only the `metrics` scope reads metrics but cannot enqueue
    const t2 = await setup({ engine, API_KEYS: JSON.stringify([{ name: 'prometheus', sha256: metricsKey.sha256, scopes: ['metrics'] }]) });
    await scrape(t2, `Bearer ${metricsKey.key}`);
    expect((await t2.api('POST', '/v1/jobs', { name: 'diagnostics.noop' }, { key: metricsKey.key })).status).toBe(403);
    expect((await t2.api('GET', '/v1/scaling', undefined, { key: metricsKey.key })).status).toBe(200);
  });

  it('reports queue depth by state and the age of the oldest waiting job, prioritized jobs included', async () => {
    const t = await setup({ engine, METRICS_TOKEN: TOKEN });
    const before = await scrape(t);
    const created = value(before, 'conveyor_jobs_enqueued_total', { kind: 'diagnostics.noop', outcome: 'created' });
    for (let i = 0; i < 3; i++) {
      expect((await t.api('POST', '/v1/jobs', { name: 'diagnostics.noop', data: {}, options: { priority: 1 } })).status).toBe(202);
    }
    const bulk = await t.api('POST', '/v1/jobs/bulk', {
      jobs: [{ name: 'diagnostics.noop' }, { name: 'diagnostics.sleep', data: { ms: 1 } }],
    });
    expect(bulk.status).toBe(202);
    const again = { name: 'diagnostics.noop', options: { idempotencyKey: 'same' } };
    expect((await t.api('POST', '/v1/jobs', again)).status).toBe(202);
    expect((await t.api('POST', '/v1/jobs', again)).status).toBe(200);

    const rows = await waitFor(
      async () => {
        const r = await scrape(t);
        return value(r, 'conveyor_queue_latency_seconds', { queue: 'default' }) > 0.05 && r;
      },
      { what: 'latency above 50 ms' },
    );
    expect(value(rows, 'conveyor_queue_jobs', { queue: 'default', state: 'waiting' })).toBe(6);
    expect(value(rows, 'conveyor_queue_jobs', { queue: 'default', state: 'active' })).toBe(0);
    expect(value(rows, 'conveyor_queue_paused', { queue: 'default' })).toBe(0);
    expect(value(rows, 'conveyor_store_up')).toBe(1);
    expect(value(rows, 'conveyor_jobs_enqueued_total', { kind: 'diagnostics.noop', outcome: 'created' }) - created).toBe(5);
    expect(value(rows, 'conveyor_jobs_enqueued_total', { kind: 'diagnostics.noop', outcome: 'existing' })).toBeGreaterThanOrEqual(1);
    expect(value(rows, 'conveyor_jobs_enqueued_total', { kind: 'diagnostics.sleep', outcome: 'created' })).toBeGreaterThanOrEqual(1);

    // only prioritized jobs wait: the latency still counts them
    const info = await t.engine.queueInfo(['default']);
    expect(info[0]?.oldestWaitingAgeSeconds).toBeGreaterThan(0);
  });

  it('labels HTTP durations by route pattern, never by raw path', async () => {
    const t = await setup({ engine, METRICS_TOKEN: TOKEN });
    const job = await t.api('POST', '/v1/jobs', { name: 'diagnostics.noop' });
    await t.api('GET', `/v1/jobs/${job.body.id}`);
    await t.api('GET', '/v1/jobs/no-such-job');
    await t.api('GET', '/v1/nothing-here/123');
    await t.api('GET', '/v1/queues', undefined, { key: null }); // 401 before routing
    const rows = await scrape(t);
    const http = rows.filter((r) => r.name === 'conveyor_http_request_duration_seconds_count');
    const routes = new Set(http.map((r) => r.labels.route));
    expect(routes).toContain('/v1/jobs/:id');
    expect(routes).toContain('/v1/jobs');
    expect(value(rows, 'conveyor_http_request_duration_seconds_count', { route: '/v1/jobs/:id', status: '404' })).toBe(1);
    expect(value(rows, 'conveyor_http_request_duration_seconds_count', { route: '/v1/jobs/:id', status: '200' })).toBe(1);
    expect([...routes].some((r) => r?.includes(job.body.id) || r?.includes('no-such-job') || r?.includes('123'))).toBe(false);
  });

  it('counts runs by kind and outcome from the worker hooks, and /v1/scaling shows the same numbers', async () => {
    const t = await setup({ engine, METRICS_TOKEN: TOKEN });
    const inst = await startWorkerInstrumentation({
      config: t.config,
      logger: quietLogger,
      backend: t.backend,
      apiKeys: [],
      catalog: catalogView,
    });
    const rt = startWorkers({ engine: t.engine, logger: quietLogger, handlers, queues: { default: 4 }, hooks: inst.hooks });
    onTestFinished(async () => {
      await rt.close(2_000);
      await inst.close();
    });
    const before = await scrape(t);
    const jobs = [
      { name: 'diagnostics.noop' },
      { name: 'diagnostics.sleep', data: { ms: 1, fail: 'transient', failAttempts: 1 } },
      { name: 'diagnostics.sleep', data: { ms: 1, fail: 'permanent' } },
    ];
    const ids: string[] = [];
    for (const j of jobs) ids.push((await t.api('POST', '/v1/jobs', j)).body.id);
    await waitFor(
      async () => {
        const states = await Promise.all(ids.map(async (id) => (await t.engine.getJob(id))?.state));
        return states[0] === 'completed' && states[1] === 'completed' && states[2] === 'dead';
      },
      { timeoutMs: 20_000, what: 'noop completed, transient retried then completed, permanent dead' },
    );
    await inst.close(); // flushes the throughput buckets now instead of within a second
    const rows = await scrape(t);
    const d = (name: string, labels: Record<string, string>) => value(rows, name, labels) - value(before, name, labels);
    expect(d('conveyor_jobs_processed_total', { kind: 'diagnostics.noop' })).toBe(1);
    expect(d('conveyor_jobs_processed_total', { kind: 'diagnostics.sleep' })).toBe(1);
    expect(d('conveyor_jobs_failed_total', { kind: 'diagnostics.sleep' })).toBe(2);
    expect(d('conveyor_jobs_retried_total', { kind: 'diagnostics.sleep' })).toBe(1);
    expect(d('conveyor_jobs_dead_lettered_total', { kind: 'diagnostics.sleep' })).toBe(1);
    expect(d('conveyor_job_duration_seconds_count', { kind: 'diagnostics.sleep', outcome: 'failed' })).toBe(2);
    expect(d('conveyor_job_duration_seconds_count', { kind: 'diagnostics.noop', outcome: 'completed' })).toBe(1);
    expect(value(rows, 'conveyor_jobs_running', { queue: 'default' })).toBe(0);
    expect(value(rows, 'conveyor_queue_jobs', { queue: 'default', state: 'dead' })).toBe(1);
    // 4 finished runs (2 completed, 2 failed) in the window
    const throughput = value(rows, 'conveyor_queue_throughput_per_second', { queue: 'default' });
    expect(throughput).toBeCloseTo(4 / t.config.SCALING_WINDOW_SECONDS, 5);

    const scaling = await t.api('GET', '/v1/scaling');
    expect(scaling.status).toBe(200);
    const w = scaling.body.processTypes.worker;
    expect(w.queues).toEqual(queueNames);
    expect(w.throughputPerSecond).toBeCloseTo(throughput, 3);
    expect(w.recommendedReplicas).toBe(value(rows, 'conveyor_scaling_recommended_replicas', { process_type: 'worker' }));
    expect(w).toMatchObject({ depth: 0, active: 0, minReplicas: 1, maxReplicas: 10, recommendedReplicas: 1 });
  });

  it('GET /v1/scaling needs a key with the metrics or admin scope', async () => {
    const t = await setup({ engine });
    expect((await t.api('GET', '/v1/scaling', undefined, { key: null })).status).toBe(401);
    const r = await t.api('GET', '/v1/scaling', undefined, { key: t.keys.noopOnly });
    expect(r.status).toBe(403);
    expect(r.body.error.code).toBe('forbidden');
  });

  // On pg-boss this raced the engine's install of a fresh schema about 1 time in 4 (both ran CREATE SCHEMA);
  // the throughput store's DDL now takes pg-boss's install lock. Four fresh stores make the race show.
  it('GET /v1/scaling answers as the very first request on a fresh store', async () => {
    for (let i = 0; i < 4; i++) {
      const t = await setup({ engine });
      const r = await t.api('GET', '/v1/scaling');
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect(r.body.processTypes.worker).toMatchObject({ depth: 0, recommendedReplicas: 1 });
    }
  });

  it('recommends max replicas for a backlog older than the target latency', async () => {
    const t = await setup({ engine, SCALING_WORKER_REPLICAS: '2:4', SCALING_TARGET_LATENCY_SECONDS: '1', WORKER_QUEUES: 'default:2' });
    await t.api('POST', '/v1/jobs/bulk', { jobs: Array.from({ length: 20 }, () => ({ name: 'diagnostics.noop' })) });
    const s = await waitFor(
      async () => {
        const r = await t.api('GET', '/v1/scaling');
        return r.body.processTypes.worker.latencySeconds > 1 && r.body;
      },
      { what: 'latency above the 1 s target' },
    );
    expect(s.processTypes.worker).toMatchObject({
      depth: 20,
      concurrencyPerReplica: 2,
      minReplicas: 2,
      maxReplicas: 4,
      recommendedReplicas: 4,
    });
  });
});

describeEngines('worker metrics port (WORKER_METRICS_PORT)', (engine) => {
  it('serves /healthz and /readyz openly and /metrics with credentials', async () => {
    const config = testConfig({ ...engineEnv(engine), WORKER_METRICS_PORT: '0', HOST: '127.0.0.1', METRICS_TOKEN: TOKEN });
    const backend = createBackend(config, quietLogger, { queues: queueNames });
    const inst = await startWorkerInstrumentation({ config, logger: quietLogger, backend, apiKeys: [], catalog: catalogView });
    onTestFinished(async () => {
      await inst.close();
      await backend.close();
      await dropEngineData(config);
    });
    expect(inst.port).toBeGreaterThan(0);
    const base = `http://127.0.0.1:${inst.port}`;
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    expect(((await ready.json()) as { checks: Record<string, string> }).checks[backend.storeName]).toBe('up');
    expect((await fetch(`${base}/metrics`)).status).toBe(401);
    const m = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(m.status).toBe(200);
    expect(await m.text()).toContain('conveyor_jobs_processed_total');
  });
});

describeEngines('/readyz', (engine) => {
  it('names the dependency that is down', async () => {
    // the engine's store on a port where nothing listens
    const config = testConfig({
      ...engineEnv(engine),
      REDIS_URL: 'redis://127.0.0.1:1',
      DATABASE_URL: 'postgres://postgres@127.0.0.1:1/test',
    });
    const backend = createBackend(config, quietLogger, { queues: queueNames });
    onTestFinished(() => backend.close());
    const r = await runReadiness({ config, backend }, await readinessChecks(), 1_000);
    expect(r.ready).toBe(false);
    expect(r.checks[backend.storeName]).toMatch(/^down: /);
  });

  it('checks the other PostgreSQL databases when configured, by name', async () => {
    const t = await setup({ engine });
    const store = t.backend.storeName;
    const checks = await readinessChecks();
    // the tests' PostgreSQL, by a URL of its own (on pgboss the engine's own DATABASE_URL is checked once, as `postgres`)
    const reportsUrl = `${DATABASE_URL}${DATABASE_URL.includes('?') ? '&' : '?'}application_name=reports`;
    const good = testConfig({ ...engineEnv(engine), REPORTS_DATABASE_URL: reportsUrl });
    const up = await runReadiness({ config: good, backend: t.backend }, checks, 3_000);
    expect(up.checks['postgres (reports)']).toBe('up');
    expect(up.checks[store]).toBe('up');
    const bad = testConfig({ ...engineEnv(engine), REPORTS_DATABASE_URL: 'postgres://postgres@127.0.0.1:1/test' });
    const down = await runReadiness({ config: bad, backend: t.backend }, checks, 3_000);
    // another dependency down is reported, and does not make the process unready (its store is up)
    expect(down.ready).toBe(true);
    expect(down.checks['postgres (reports)']).toMatch(/^down: /);
    expect(down.checks[store]).toBe('up');
    const none = testConfig(engineEnv(engine));
    expect(none.REPORTS_DATABASE_URL).toBeUndefined();
    expect((await runReadiness({ config: none, backend: t.backend }, checks)).checks['postgres (reports)']).toBeUndefined();
  });
});
