// report.generate end to end on each engine: HTTP enqueue → queue → worker → real PostgreSQL → file →
// signed download over HTTP. Also: 400s naming the field, cancel and timeout mid-stream, report → email flow.
import { describe, expect, it, onTestFinished } from 'vitest';
import { flowSettler } from '../core/flows/run.ts';
import { isJobName, validatePayload } from '../workers/catalog.ts';
import { handlerDeps } from '../workers/handlers.ts';
import { createReportsModule } from '../workers/reports/handlers.ts';
import { describeEngines } from './engines.ts';
import { type EngineName, quietLogger, setup, testConfig, waitFor } from './helpers.ts';
import { busyBackends, filesIn, tempDir, testSchema } from './reports-db.ts';

const SECRET = 'reports-test-secret-0123456789abcdef';

async function platform(engine: EngineName, opts: { flows?: boolean } = {}) {
  const db = await testSchema();
  const dir = await tempDir();
  const t = await setup({ engine, REPORTS_DATABASE_URL: db.url, REPORTS_DIR: dir, REPORTS_SIGNING_SECRET: SECRET, REPORTS_DEMO: 'true' });
  const set = await createReportsModule()(handlerDeps({ config: t.config, logger: quietLogger, backend: t.backend }));
  onTestFinished(() => set.close());
  const settlers = opts.flows ? [flowSettler({ store: t.backend.flows, engine: t.engine, validate: validatePayload })] : [];
  t.startWorker({ handlers: set.handlers, queues: { reports: 2 }, settlers });
  const applicationName = `conveyor-reports:${t.config.QUEUE_PREFIX}`;
  const jobWhere = (id: string, pred: (j: any) => boolean, what: string, timeoutMs = 20_000) =>
    waitFor(
      async () => {
        const j = await t.api('GET', `/v1/jobs/${id}`);
        return pred(j.body) && j.body;
      },
      { timeoutMs, what },
    );
  return { ...db, dir, t, applicationName, jobWhere };
}

describeEngines('report.generate', (engine) => {
  it('rejects bad payloads at enqueue with 400 naming the field', async () => {
    const { t } = await platform(engine);
    const cases: [unknown, string][] = [
      [{ report: 'demo.orders', params: { from: 'yesterday', to: '2026-01-31' } }, 'data.params.from'],
      [{ report: 'demo.orders', params: { from: '2026-02-01', to: '2026-01-31' } }, 'data.params.to'],
      [{ report: 'demo.orders', params: { from: '2026-01-01', to: '2026-01-31', status: "paid' OR 1=1 --" } }, 'data.params.status'],
      [{ report: 'demo.orders', params: { from: '2026-01-01', to: '2026-01-31', sql: 'x' } }, 'data.params'],
      [{ report: 'demo.series', params: { rows: 10_000_001 } }, 'data.params.rows'],
      [{ report: 'no.such.report', params: {} }, 'data.report'],
      [{ report: 'demo.series', params: { rows: 1 }, format: 'xlsx' }, 'data.format'],
    ];
    for (const [data, path] of cases) {
      const res = await t.api('POST', '/v1/jobs', { name: 'report.generate', data });
      expect(res.status, JSON.stringify(data)).toBe(400);
      expect(res.body.error.code).toBe('invalid_request');
      expect(res.body.error.details.map((d: { path: string }) => d.path)).toContain(path);
    }
  });

  it('enqueue over HTTP → worker → CSV file → signed link downloads it without an API key', async () => {
    const { t, admin, schema, jobWhere } = await platform(engine);
    const res = await t.api('POST', '/v1/jobs', {
      name: 'report.generate',
      data: { report: 'demo.orders', params: { from: '2026-01-01', to: '2026-03-31', status: 'paid' } },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    const done = await jobWhere(
      res.body.id,
      (j) => j.state === 'completed' || j.state === 'dead' || j.state === 'failed',
      'report job finished',
    );
    expect(done.state, JSON.stringify(done.error)).toBe('completed');

    const expected = await admin.query(
      `SELECT count(*)::int AS n FROM ${schema}.demo_orders
        WHERE created_at >= '2026-01-01' AND created_at < '2026-04-01' AND status = 'paid'`,
    );
    expect(expected.rows[0].n).toBeGreaterThan(100);
    const r = done.result;
    expect(r).toMatchObject({
      report: 'demo.orders',
      format: 'csv',
      rows: expected.rows[0].n,
      filename: 'orders-2026-01-01-to-2026-03-31-paid.csv',
    });
    expect(new Date(r.expiresAt).getTime()).toBeGreaterThan(Date.now());
    expect(done.progress).toEqual({ progress: 100, rows: r.rows, bytes: r.bytes });

    const url = new URL(r.download);
    const file = await t.api('GET', url.pathname + url.search, undefined, { key: null });
    expect(file.status).toBe(200);
    const lines = (file.body as string).split('\r\n');
    expect(lines[0]).toBe('id,created_at,customer,email,country,status,amount,note');
    // quoted newlines inside notes: count records by parsing, not by splitting
    expect(countCsvRecords(file.body as string)).toBe(r.rows + 1);
    expect(Buffer.byteLength(file.body as string)).toBe(r.bytes);
  });

  it('DELETE /v1/jobs/:id mid-stream: job cancelled, query stopped, no partial file', async () => {
    const { t, dir, admin, applicationName, jobWhere } = await platform(engine);
    const res = await t.api('POST', '/v1/jobs', { name: 'report.generate', data: { report: 'demo.series', params: { rows: 10_000_000 } } });
    expect(res.status).toBe(202);
    const running = await jobWhere(res.body.id, (j) => j.state === 'active' && (j.progress?.rows ?? 0) > 0, 'rows streaming');
    expect(running.progress.progress).toBeLessThan(100);
    expect((await filesIn(dir)).some((f) => f.endsWith('.part'))).toBe(true);

    const cancel = await t.api('DELETE', `/v1/jobs/${res.body.id}`);
    expect([200, 202]).toContain(cancel.status);
    const cancelled = await jobWhere(res.body.id, (j) => j.state !== 'active', 'job left active');
    expect(cancelled.state).toBe('cancelled');
    await waitFor(async () => (await busyBackends(admin, applicationName)).length === 0, {
      timeoutMs: 10_000,
      what: 'report query stopped',
    });
    await waitFor(async () => (await filesIn(dir)).length === 0, { timeoutMs: 10_000, what: 'partial file removed' });
  });

  it('the job timeout aborts the query and leaves no file', async () => {
    const { t, dir, admin, applicationName, jobWhere } = await platform(engine);
    const res = await t.api('POST', '/v1/jobs', {
      name: 'report.generate',
      data: { report: 'demo.series', params: { rows: 10_000_000 }, format: 'jsonl' },
      options: { timeout: 1500, attempts: 1 },
    });
    expect(res.status).toBe(202);
    const failed = await jobWhere(res.body.id, (j) => j.state === 'dead' || j.state === 'failed', 'job failed');
    expect(failed.error.message).toMatch(/timed out after 1500 ms/);
    await waitFor(async () => (await busyBackends(admin, applicationName)).length === 0, {
      timeoutMs: 10_000,
      what: 'report query stopped',
    });
    await waitFor(async () => (await filesIn(dir)).length === 0, { timeoutMs: 10_000, what: 'partial file removed' });
  });

  it('report → email as a flow: the email job is released with the link from the report (dataFrom)', async (ctx) => {
    if (!isJobName('email.send')) {
      console.warn('skipped: email.send is not in the catalog yet');
      ctx.skip();
    }
    const { t, jobWhere } = await platform(engine, { flows: true });
    const res = await t.api('POST', '/v1/flows', {
      jobs: [
        { key: 'report', name: 'report.generate', data: { report: 'demo.series', params: { rows: 10 }, format: 'jsonl' } },
        {
          key: 'mail',
          name: 'email.send',
          data: { to: 'ana@example.com', template: 'report-ready', vars: {} },
          dependsOn: ['report'],
          dataFrom: { 'vars.reportName': 'report.filename', 'vars.url': 'report.download', 'vars.expiresAt': 'report.expiresAt' },
        },
      ],
    });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    const [report, mail] = res.body.jobs.map((j: { id: string }) => j.id);
    const done = await jobWhere(report, (j) => ['completed', 'dead', 'failed'].includes(j.state), 'report job finished');
    expect(done.state, JSON.stringify(done.error)).toBe('completed');
    // nothing consumes the email queue here: the released job waits with its filled, validated payload
    const email = await waitFor(async () => (await t.engine.getJob(mail)) ?? false, { timeoutMs: 20_000, what: 'email job released' });
    expect(email).toMatchObject({
      name: 'email.send',
      queue: 'email',
      state: 'waiting',
      data: {
        to: 'ana@example.com',
        template: 'report-ready',
        category: 'transactional',
        vars: { reportName: 'series-10.jsonl', url: done.result.download, expiresAt: done.result.expiresAt },
      },
    });
    expect(done.result).not.toHaveProperty('notifyJobId');
  });

  it('notify in the payload is refused with a pointer to the flow that replaced it', async () => {
    const { t } = await platform(engine);
    const res = await t.api('POST', '/v1/jobs', {
      name: 'report.generate',
      data: { report: 'demo.series', params: { rows: 10 }, notify: { email: 'ana@example.com' } },
    });
    expect(res.status).toBe(400);
    expect(res.body.error.details).toContainEqual({ path: 'data', message: expect.stringMatching(/notify is gone: create a flow/) });
  });
});

describe('reports handler module', () => {
  it('close() at shutdown aborts a running report: query stopped, no file, pool ended', async () => {
    const db = await testSchema();
    const dir = await tempDir();
    const config = testConfig({ REPORTS_DATABASE_URL: db.url, REPORTS_DIR: dir, REPORTS_SIGNING_SECRET: SECRET });
    const set = await createReportsModule()(handlerDeps({ config, logger: quietLogger, backend: undefined as never }));
    const seen: unknown[] = [];
    const handler = set.handlers['report.generate'] as NonNullable<(typeof set.handlers)['report.generate']>;
    const run = handler(
      { report: 'demo.series', params: { rows: 10_000_000 }, format: 'csv' },
      {
        jobId: 'shutdown-1',
        attempt: 1,
        maxAttempts: 1,
        signal: new AbortController().signal,
        log: quietLogger,
        progress: async (p) => {
          seen.push(p);
        },
      },
    ).catch((e: Error) => e);
    await waitFor(() => seen.length > 0, { timeoutMs: 20_000, what: 'report streaming' });
    await set.close();
    expect(((await run) as Error).message).toBe('worker shutting down');
    await waitFor(async () => (await busyBackends(db.admin, `conveyor-reports:${config.QUEUE_PREFIX}`)).length === 0, {
      timeoutMs: 10_000,
      what: 'report query stopped',
    });
    expect(await filesIn(dir)).toEqual([]);
  });
});

/** RFC 4180 record count (CRLF outside quotes ends a record). */
function countCsvRecords(text: string): number {
  let n = 0;
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') quoted = !quoted;
    else if (!quoted && c === '\r' && text[i + 1] === '\n') n++;
  }
  return n;
}
