// Bad input, one finding at a time (issue 12, "Bad input and security"): every case answers a 4xx in the
// error shape `{ error: { code, message, details, requestId } }`, never a 5xx, and stores nothing.
// The broad walk of every route is test/fuzz.test.ts; credentials and roles are test/security.test.ts.
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { expect, it } from 'vitest';
import { toEnqueueRequest, validateJob } from '../workers/catalog.ts';
import { DashboardClient, dashboardOverrides } from './dashboard-users.ts';
import { describeEngines } from './engines.ts';
import { setup, type TestPlatform } from './helpers.ts';

/** BullMQ's own key names under a queue (bullmq QueueKeys) and a job's sub-keys. */
const KEY_NAMES = [
  'meta',
  'id',
  'events',
  'wait',
  'paused',
  'active',
  'delayed',
  'prioritized',
  'completed',
  'failed',
  'stalled',
  'stalled-check',
  'waiting-children',
  'repeat',
  'limiter',
  'marker',
  'pc',
  'de',
  'metrics',
  'x:lock',
  'x:logs',
];

function expectErrorShape(body: any, status: number, what: string) {
  expect(status, `${what}: ${JSON.stringify(body)}`).toBeGreaterThanOrEqual(400);
  expect(status, `${what}: ${JSON.stringify(body)}`).toBeLessThan(500);
  expect(body?.error, what).toMatchObject({ code: expect.any(String), message: expect.any(String), details: expect.any(Array) });
}

async function raw(t: TestPlatform, method: string, path: string, body?: Buffer | string, headers: Record<string, string> = {}) {
  const res = await fetch(t.baseUrl + path, {
    method,
    headers: { authorization: `Bearer ${t.keys.admin}`, ...headers },
    body,
    redirect: 'manual',
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {}
  return { status: res.status, body: parsed as any, headers: res.headers };
}

const waitingCount = async (t: TestPlatform) =>
  (await t.engine.queueInfo(['default', 'email'])).reduce((n, q) => n + q.counts.waiting + q.counts.delayed, 0);

describeEngines('bad input', (engine) => {
  it("a path id that is one of BullMQ's key names addresses no job: 404 on GET, DELETE and replay; the queue meta survives", async () => {
    const t = await setup({ engine });
    await t.engine.pauseQueue('default');
    for (const id of KEY_NAMES) {
      for (const [method, path] of [
        ['GET', `/v1/jobs/${encodeURIComponent(id)}`],
        ['DELETE', `/v1/jobs/${encodeURIComponent(id)}`],
        ['POST', `/v1/dead-letters/${encodeURIComponent(id)}/replay`],
      ] as const) {
        const r = await t.api(method, path);
        expect(r.status, `${method} ${path}: ${JSON.stringify(r.body)}`).toBe(404);
        expect(r.body.error.code).toBe('not_found');
      }
    }
    // replaying `meta` must not have deleted the queue's meta hash: the queue is still paused
    expect((await t.engine.queueInfo(['default']))[0]?.paused).toBe(true);
  });

  it('malformed percent-escapes in any path id answer 400, with and without credentials', async () => {
    const t = await setup({ engine, ...(await dashboardOverrides()) });
    const paths: [string, string][] = [
      ['GET', '/v1/jobs/%ZZ'],
      ['DELETE', '/v1/jobs/%E0%A4%A'],
      ['POST', '/v1/dead-letters/%ZZ/replay'],
      ['POST', '/v1/queues/%ZZ/pause'],
      ['GET', '/v1/schedules/%ZZ'],
      ['GET', '/v1/templates/%ZZ/preview'],
      ['GET', '/v1/mail/%ZZ'],
      ['GET', '/v1/reports/%ZZ/download'],
      ['GET', '/v1/reports/%ZZ/link'],
    ];
    for (const [method, path] of paths) {
      for (const auth of [true, false]) {
        const r = await raw(t, method, path, undefined, auth ? {} : { authorization: '' });
        expectErrorShape(r.body, r.status, `${method} ${path} auth=${auth}`);
      }
    }
    const dash = new DashboardClient(t.baseUrl);
    await dash.login('admin', 'admin-pass-1');
    for (const path of ['/admin/jobs/%ZZ', '/admin/board/api/queues/%ZZ', '/admin/dead-letters/%ZZ/replay']) {
      const r = await dash.request(path.endsWith('replay') ? 'POST' : 'GET', path, { headers: { accept: 'application/json' } });
      expect(r.status, `${path}: ${r.text.slice(0, 200)}`).toBeGreaterThanOrEqual(400);
      expect(r.status, path).toBeLessThan(500);
    }
  });

  it('a NUL or an unpaired surrogate in any path id answers 400 naming the parameter (PostgreSQL refuses NUL)', async () => {
    const t = await setup({ engine });
    for (const id of ['a%00b', '%00', '%ED%A0%80']) {
      for (const [method, path] of [
        ['GET', `/v1/jobs/${id}`],
        ['DELETE', `/v1/jobs/${id}`],
        ['GET', `/v1/jobs/actions/${id}`],
        ['POST', `/v1/jobs/actions/${id}/resume`],
        ['POST', `/v1/dead-letters/${id}/replay`],
        ['GET', `/v1/kinds/${id}`],
        ['DELETE', `/v1/kinds/${id}`],
        ['GET', `/v1/mail/${id}`],
        ['GET', `/v1/schedules/${id}`],
        ['DELETE', `/v1/schedules/${id}`],
        ['POST', `/v1/queues/${id}/pause`],
        ['POST', `/v1/reports/${id}/link`],
      ] as const) {
        const r = await raw(t, method, path);
        expectErrorShape(r.body, r.status, `${method} ${path}`);
        expect(r.status, `${method} ${path}`).toBe(400);
      }
    }
  });

  it('a NUL in a query value answers 400 naming it (found by the fuzz: GET /v1/audit?actor=a%00b was a 500 on pg-boss)', async () => {
    const t = await setup({ engine });
    // (an escaped lone surrogate in a query decodes to U+FFFD, which is a valid character)
    for (const value of ['a%00b', '%00']) {
      for (const [path, name] of [
        [`/v1/audit?actor=${value}`, 'actor'],
        [`/v1/audit?target=${value}`, 'target'],
        [`/v1/jobs?kind=diagnostics.noop&data.note=${value}`, 'data.note'],
      ] as const) {
        const r = await raw(t, 'GET', path);
        expectErrorShape(r.body, r.status, path);
        expect(r.status, path).toBe(400);
        expect(r.body.error.details.map((d: { path: string }) => d.path)).toContain(name);
      }
    }
  });

  it('dashboard: a JSON body to a form route, an unknown schedule, a NUL in a path segment answer 4xx (found by the fuzz)', async () => {
    const t = await setup({ engine, ...(await dashboardOverrides()) });
    const dash = new DashboardClient(t.baseUrl);
    await dash.login('admin', 'admin-pass-1');
    const headers = { 'x-xsrf-token': dash.csrf, accept: 'application/json' };
    for (const path of ['/admin/jobs/actions', '/admin/jobs/actions/confirm', '/admin/login']) {
      const r = await dash.request('POST', path, { json: { _csrf: dash.csrf }, headers });
      expect(r.status, `${path}: ${r.text.slice(0, 200)}`).toBeGreaterThanOrEqual(400);
      expect(r.status, path).toBeLessThan(500);
    }
    for (const action of ['pause', 'resume']) {
      const r = await dash.request('POST', `/admin/schedules/no-such-schedule/${action}`, { form: { _csrf: dash.csrf }, headers });
      expect(r.status, r.text.slice(0, 200)).toBe(404);
    }
    for (const [method, path] of [
      ['GET', '/admin/jobs/actions/a%00b'],
      ['POST', '/admin/schedules/a%00b/pause'],
      ['POST', '/admin/dead-letters/a%00b/replay'],
      ['GET', '/admin/email/templates/a%00b'],
      ['GET', '/admin/jobs/%ED%A0%80'],
    ] as const) {
      const r = await dash.request(method, path, method === 'GET' ? { headers } : { form: { _csrf: dash.csrf }, headers });
      expect(r.status, `${method} ${path}: ${r.text.slice(0, 200)}`).toBeGreaterThanOrEqual(400);
      expect(r.status, `${method} ${path}`).toBeLessThan(500);
    }
  });

  it('bodies that do not decode (corrupt gzip, deflate, br, zstd; unknown encoding or charset) answer 4xx, nothing enqueued', async () => {
    const t = await setup({ engine });
    const job = JSON.stringify({ name: 'diagnostics.noop', data: {} });
    const cases: [string, Buffer][] = [
      ['gzip', Buffer.concat([gzipSync(job).subarray(0, 12), Buffer.from('garbage!')])],
      ['deflate', Buffer.from('not deflate at all')],
      ['br', Buffer.from([0xff, 0xff, 0xff, 0x00, 0x01])],
      ['zstd', Buffer.from('definitely not zstd')],
      ['gzip', deflateSync(job)],
      ['br', brotliCompressSync(job).subarray(0, 5)],
      ['x-unknown', Buffer.from(job)],
    ];
    for (const [encoding, body] of cases) {
      const r = await raw(t, 'POST', '/v1/jobs', body, { 'content-type': 'application/json', 'content-encoding': encoding });
      expectErrorShape(r.body, r.status, `content-encoding ${encoding}`);
    }
    const charset = await raw(t, 'POST', '/v1/jobs', job, { 'content-type': 'application/json; charset=x-klingon' });
    expectErrorShape(charset.body, charset.status, 'unknown charset');
    expect(await waitingCount(t)).toBe(0);
  });

  it('POST /admin/login with more than 50 form fields, an unknown charset or a corrupt encoding answers 4xx', async () => {
    const t = await setup({ engine, ...(await dashboardOverrides()) });
    const many = new URLSearchParams(Array.from({ length: 200 }, (_, i): [string, string] => [`f${i}`, 'x'])).toString();
    const cases: [string, Record<string, string>][] = [
      [many, { 'content-type': 'application/x-www-form-urlencoded' }],
      ['user=a&password=b', { 'content-type': 'application/x-www-form-urlencoded; charset=x-klingon' }],
      ['user=a&password=b', { 'content-type': 'application/x-www-form-urlencoded', 'content-encoding': 'gzip' }],
    ];
    for (const [body, headers] of cases) {
      const r = await raw(t, 'POST', '/admin/login', body, { ...headers, authorization: '' });
      expect(r.status, `${JSON.stringify(headers)}: ${String(r.body).slice(0, 200)}`).toBeGreaterThanOrEqual(400);
      expect(r.status, JSON.stringify(headers)).toBeLessThan(500);
    }
  });

  it('NUL and lone surrogates in any string of a body answer 400 naming the field; nothing enqueued', async () => {
    const t = await setup({ engine });
    const bodies: [unknown, string][] = [
      [{ name: 'diagnostics.noop', data: { note: 'a\u0000b' } }, 'data.note'],
      [{ name: 'diagnostics.noop', data: { 'k\u0000': 1 } }, 'data'],
      [{ name: 'diagnostics.noop', data: { note: 'x\ud800y' } }, 'data.note'],
      [{ name: 'diagnostics.noop', data: { list: ['ok', '\udfff'] } }, 'data.list[1]'],
      [{ name: 'diagnostics.noop', options: { idempotencyKey: 'k\u0000' } }, 'options.idempotencyKey'],
    ];
    for (const [body, path] of bodies) {
      // JSON.stringify escapes lone surrogates as \udXXX, which JSON.parse turns back into lone surrogates
      const r = await t.api('POST', '/v1/jobs', JSON.stringify(body));
      expectErrorShape(r.body, r.status, path);
      expect(r.status).toBe(400);
      expect(r.body.error.details.map((d: { path: string }) => d.path).join(' ')).toContain(path);
    }
    const bulk = await t.api('POST', '/v1/jobs/bulk', { jobs: [{ name: 'diagnostics.noop', data: { s: '\u0000' } }] });
    expect(bulk.status).toBe(400);
    const sched = await t.api('PUT', '/v1/schedules/nul', { cron: '0 3 * * *', job: { name: 'diagnostics.noop', data: { s: '\u0000' } } });
    expect(sched.status).toBe(400);
    expect(await waitingCount(t)).toBe(0);
  });

  it('a 10,000-level nested document answers 400 (depth), not a stack overflow', async () => {
    const t = await setup({ engine });
    const deep = `{"name":"diagnostics.noop","data":{"x":${'['.repeat(10_000)}${']'.repeat(10_000)}}}`;
    for (const path of ['/v1/jobs', '/v1/jobs/bulk', '/v1/schedules/deep', '/v1/templates/welcome/preview']) {
      const r = await raw(t, path.includes('schedules') ? 'PUT' : 'POST', path, deep, { 'content-type': 'application/json' });
      expectErrorShape(r.body, r.status, path);
      expect(r.status).toBe(400);
    }
    const objects = `{"data":${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}}`;
    const r = await raw(t, 'POST', '/v1/jobs', objects, { 'content-type': 'application/json' });
    expect(r.status).toBe(400);
    expect(await waitingCount(t)).toBe(0);
  });

  it('a job whose kind is not in the catalog, read or cancelled with a scoped key, answers 403 (not 500)', async () => {
    const t = await setup({ engine });
    const v = validateJob({ name: 'diagnostics.noop', data: {} });
    if (!v.ok) throw new Error('fixture');
    const req = { ...toEnqueueRequest(v.job, t.config, {}), name: 'legacy.gone' };
    const { job } = await t.engine.enqueue(req);
    for (const method of ['GET', 'DELETE']) {
      const r = await t.api(method, `/v1/jobs/${job.id}`, undefined, { key: t.keys.noopOnly });
      expect(r.status, `${method}: ${JSON.stringify(r.body)}`).toBe(403);
    }
    expect((await t.api('GET', `/v1/jobs/${job.id}`)).body.name).toBe('legacy.gone');
  });

  it('caps cron at 256 characters and runAt at 365 days ahead, as delay is', async () => {
    const t = await setup({ engine });
    const long = await t.api('PUT', '/v1/schedules/long', {
      cron: `0 ${Array.from({ length: 100_000 }, () => '3').join(',')} * * *`,
      job: { name: 'diagnostics.noop', data: {} },
    });
    expect(long.status).toBe(400);
    expect(long.body.error.details[0]).toMatchObject({ path: 'cron' });
    const far = await t.api('POST', '/v1/jobs', { name: 'diagnostics.noop', options: { runAt: '9999-12-31T00:00:00Z' } });
    expect(far.status).toBe(400);
    expect(far.body.error.details).toEqual([expect.objectContaining({ path: 'options.runAt' })]);
    const soon = new Date(Date.now() + 300 * 86_400_000).toISOString();
    expect((await t.api('POST', '/v1/jobs', { name: 'diagnostics.noop', options: { runAt: soon } })).status).toBe(202);
    expect(await waitingCount(t)).toBe(1);
  });
});
