// Security (issue 12, deliverable 6 and the "Bad input and security" findings), on both engines: every
// route without credentials, with a bad key, with a key of the wrong scope; a viewer on every mutating
// dashboard route, in case and encoding variants of its path; Bull Board's no-add/no-edit rule under the
// same variants; CSRF with forwarded-host tricks; sign-out ends the session server-side; headers;
// unknown keys rate limited; slow requests cut off.

import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import express from 'express';
import { expect, it, onTestFinished } from 'vitest';
import { createDashboard } from '../dashboard/index.ts';
import { generateApiKey } from '../producers/auth.ts';
import { createHttpServer } from '../producers/server.ts';
import { DashboardClient, dashboardOverrides, PASSWORDS } from './dashboard-users.ts';
import { describeEngines } from './engines.ts';
import { quietLogger, setup, type TestPlatform, testConfig, waitFor } from './helpers.ts';

const metricsKey = generateApiKey();

/** setup() with dashboard users and (unless a test sets it) no limit on failed authentications */
function platform(engine: 'bullmq' | 'pgboss', extra: Record<string, string> = {}) {
  return dashboardOverrides().then((users) => setup({ engine, ...users, API_AUTH_FAILURES_PER_MINUTE: '100000', ...extra }));
}

/** Every route in the OpenAPI document (which the route table generates), with a sample path. */
async function routeList(t: TestPlatform) {
  const doc = (await t.api('GET', '/v1/openapi.json')).body as { paths: Record<string, Record<string, { security?: unknown[] }>> };
  const out: { method: string; path: string; open: boolean }[] = [];
  for (const [p, ops] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      out.push({
        method: method.toUpperCase(),
        path: p.replace(/\{[^}]+\}/g, 'x1'),
        open: Array.isArray(op.security) && op.security.length === 0,
      });
    }
  }
  return out;
}

const jobCount = async (t: TestPlatform) =>
  (await t.engine.queueInfo(['default', 'email'])).reduce((n, q) => n + q.counts.waiting + q.counts.delayed + q.counts.active, 0);

/** The dashboard router's own mutating routes (all but sign-in and sign-out), with sample path values. */
async function mutatingDashboardRoutes(t: TestPlatform): Promise<string[]> {
  const d = await createDashboard({ config: t.config, logger: quietLogger, backend: t.backend });
  try {
    const layers = (d.router as unknown as { stack: { route?: { path: string; methods: Record<string, boolean> } }[] }).stack;
    const sample = (path: string) =>
      path.replace(/:(\w+)/g, (_, name) => (name === 'name' ? (path.startsWith('/schedules') ? 'demo-report' : 'default') : 'x1'));
    return layers
      .flatMap((l) => (l.route && Object.keys(l.route.methods).some((m) => m !== 'get') ? [l.route.path] : []))
      .filter((p) => !['/login', '/logout'].includes(p))
      .map((p) => `/admin${sample(p)}`);
  } finally {
    await d.close();
  }
}

/** A path as a client may spell it for the same route: case, trailing and doubled slashes, percent-escapes. */
const pathVariants = (p: string) => [
  p,
  `${p}/`,
  p.toUpperCase().replace('/ADMIN', '/admin'),
  p.replace('/admin', '/ADMIN'),
  p.toUpperCase(),
  p.replace(/e/, '%65'),
  p.replace(/a/, '%61'),
  p.replace(/\/([^/]+)$/, '%2F$1'),
  p.replace(/\/([^/]+)$/, '//$1'),
  `${p}?x=1`,
];

describeEngines('security', (engine) => {
  it('every route: 401 without credentials and with an unknown key; a metrics-only key gets 403/404 (never data) but /metrics', async () => {
    const admin = generateApiKey();
    const t2 = await platform(engine, {
      API_KEYS: JSON.stringify([
        { name: 'admin', sha256: admin.sha256, scopes: ['admin'] },
        { name: 'metrics-only', sha256: metricsKey.sha256, scopes: ['metrics'] },
      ]),
    });
    const routes = await routeList({ ...t2, api: (m, p, b, o) => t2.api(m, p, b, { key: admin.key, ...o }) });
    expect(routes.length).toBeGreaterThan(15);
    const body = JSON.stringify({ name: 'diagnostics.noop', data: {} });
    for (const r of routes) {
      const what = `${r.method} ${r.path}`;
      const hasBody = !['GET', 'DELETE', 'HEAD'].includes(r.method);
      const send = (key: string | null) => t2.api(r.method, r.path, hasBody ? body : undefined, { key: key ?? null });
      const anon = await send(null);
      const bad = await send('cvk_not-a-key');
      const scoped = await send(metricsKey.key);
      if (r.path === '/healthz' || r.path === '/readyz') {
        expect(anon.status, what).toBeLessThan(500);
        continue;
      }
      if (r.open) {
        // a signed link or a token route: without its signature/token, refused; never a 2xx
        for (const a of [anon, bad]) expect([400, 401, 403, 404], `${what}: ${JSON.stringify(a.body)}`).toContain(a.status);
        continue;
      }
      expect(anon.status, `${what} anon`).toBe(401);
      expect(anon.body.error.code, what).toBe('unauthorized');
      expect(bad.status, `${what} bad key`).toBe(401);
      if (['/v1/openapi.json', '/metrics'].includes(r.path) || r.path.startsWith('/v1/scaling')) expect(scoped.status, what).toBe(200);
      else expect([400, 403, 404], `${what} metrics-only: ${JSON.stringify(scoped.body).slice(0, 200)}`).toContain(scoped.status);
    }
    expect(await jobCount(t2)).toBe(0);
  });

  it('a metrics-only key may not read GET /v1/queues; a scoped key sees only its queues', async () => {
    const t = await platform(engine, {
      API_KEYS: JSON.stringify([
        { name: 'metrics-only', sha256: metricsKey.sha256, scopes: ['metrics'] },
        { name: 'noop', sha256: generateApiKey().sha256, scopes: ['diagnostics.noop'] },
      ]),
    });
    const r = await t.api('GET', '/v1/queues', undefined, { key: metricsKey.key });
    expect(r.status).toBe(403);
    expect(r.body.error.code).toBe('forbidden');
  });

  it('unknown API keys are rate limited per client IP (429 + Retry-After), valid keys are not affected', async () => {
    const t = await platform(engine, { API_AUTH_FAILURES_PER_MINUTE: '5' });
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) statuses.push((await t.api('GET', '/v1/queues', undefined, { key: `cvk_guess-${i}` })).status);
    expect(statuses.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
    expect(statuses.slice(5)).toEqual([429, 429, 429]);
    const limited = await t.api('GET', '/v1/queues', undefined, { key: null });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await t.api('GET', '/v1/queues')).status).toBe(200);
  });

  it("Bull Board's no-add/no-edit rule holds under trailing slashes, case and percent-encoding; nothing is added", async () => {
    const t = await platform(engine);
    const admin = new DashboardClient(t.baseUrl);
    await admin.login('admin', PASSWORDS.admin);
    const { job } = await t.engine.enqueue({
      ...(await import('../workers/catalog.ts')).toEnqueueRequest({ name: 'diagnostics.noop', data: {}, options: {} }, t.config, {}),
    });
    const paths = [
      ['POST', '/admin/board/api/queues/default/add'],
      ['POST', '/admin/board/api/queues/default/add/'],
      ['POST', '/admin/board/api/queues/default/ADD'],
      ['POST', '/admin/board/api/queues/default/Add//'],
      ['POST', '/admin/board/api/queues/default/%61dd'],
      ['POST', '/admin/board/API/queues/default/add'],
      ['PUT', `/admin/board/api/queues/default/${job.id}/update-data`],
      ['PUT', `/admin/board/api/queues/default/${job.id}/update-data/`],
      ['PUT', `/admin/board/api/queues/default/${job.id}/UPDATE-DATA`],
      ['PUT', `/admin/board/api/queues/default/${job.id}/update%2Ddata`],
      ['PATCH', `/admin/board/api/queues/default/${job.id}/update-data`],
    ];
    for (const [method, path] of paths) {
      const r = await admin.request(method as string, path as string, {
        json: { name: 'diagnostics.noop', data: { injected: true }, options: {} },
        headers: { 'x-xsrf-token': admin.csrf },
      });
      expect([403, 404], `${method} ${path}: ${r.status} ${r.text.slice(0, 200)}`).toContain(r.status);
    }
    expect(await jobCount(t)).toBe(1);
    expect((await t.engine.getJob(job.id))?.data).toEqual({});
  });

  it('a viewer is refused on every mutating dashboard route, in case and encoding variants of the path', async () => {
    const t = await platform(engine);
    const viewer = new DashboardClient(t.baseUrl);
    await viewer.login('viewer', PASSWORDS.viewer);
    const own = await mutatingDashboardRoutes(t);
    // every POST route the dashboard router declares (a new page's forms are in this list without editing it)
    expect(own).toEqual(expect.arrayContaining(['/admin/queues/default/pause', '/admin/dead-letters/x1/replay', '/admin/jobs/actions']));
    const board = [
      '/admin/board/api/queues/pause',
      '/admin/board/api/queues/default/pause',
      '/admin/board/api/queues/default/clean/completed',
      '/admin/board/api/queues/default/retry/failed',
      '/admin/board/api/queues/default/x1/retry',
      '/admin/board/api/queues/default/x1/promote',
      '/admin/board/api/queues/default/obliterate',
      '/admin/board/api/queues/default/empty',
    ];
    let tried = 0;
    for (const base of [...own, ...board]) {
      for (const path of pathVariants(base)) {
        for (const method of base.includes('/board/') ? ['PUT', 'POST', 'DELETE'] : ['POST']) {
          const r = await viewer.request(method, path, {
            form: { _csrf: viewer.csrf, action: 'delete' },
            headers: { 'x-xsrf-token': viewer.csrf },
          });
          expect([403, 404], `${method} ${path}: ${r.status} ${r.text.slice(0, 120)}`).toContain(r.status);
          tried++;
        }
      }
    }
    expect(tried).toBeGreaterThan(100);
    expect((await t.engine.queueInfo(['default']))[0]?.paused).toBe(false);
    const schedules = (await t.api('GET', '/v1/schedules')).body.schedules as { name: string; paused?: boolean }[];
    expect(schedules.filter((s) => s.paused).map((s) => s.name)).toEqual([]);
  });

  it('CSRF: no token, a foreign Origin, or X-Forwarded-Host naming that origin are refused', async () => {
    const t = await platform(engine);
    const op = new DashboardClient(t.baseUrl);
    await op.login('operator', PASSWORDS.operator);
    const pause = (headers: Record<string, string>, form: Record<string, string> = { _csrf: op.csrf }) =>
      op.request('POST', '/admin/queues/default/pause', { form, headers });
    expect((await pause({}, {})).status).toBe(403);
    expect((await pause({ origin: 'https://evil.example' })).status).toBe(403);
    const tricks: Record<string, string>[] = [
      { origin: 'https://evil.example', 'x-forwarded-host': 'evil.example' },
      { origin: 'http://evil.example', 'x-forwarded-host': 'evil.example, 127.0.0.1' },
      { referer: 'https://evil.example/x', 'x-forwarded-host': 'evil.example' },
    ];
    for (const headers of tricks) {
      const r = await pause(headers);
      expect(r.status, JSON.stringify(headers)).toBe(403);
    }
    // the sign-in form too
    const anon = new DashboardClient(t.baseUrl);
    await anon.request('GET', '/admin/login');
    const login = await anon.request('POST', '/admin/login', {
      form: { user: 'operator', password: PASSWORDS.operator, _csrf: 'x' },
      headers: { origin: 'https://evil.example', 'x-forwarded-host': 'evil.example' },
    });
    expect(login.status).toBe(403);
    expect((await t.engine.queueInfo(['default']))[0]?.paused).toBe(false);
  });

  it('TRUST_FORWARDED_HOST=true takes the site from X-Forwarded-Host (behind a proxy that sets it)', async () => {
    const t = await platform(engine, { TRUST_FORWARDED_HOST: 'true' });
    const op = new DashboardClient(t.baseUrl);
    await op.login('operator', PASSWORDS.operator);
    const r = await op.request('POST', '/admin/queues/default/pause', {
      form: { _csrf: op.csrf },
      headers: { origin: 'https://conveyor.example', 'x-forwarded-host': 'conveyor.example' },
    });
    expect(r.status).toBe(303);
    expect((await t.engine.queueInfo(['default']))[0]?.paused).toBe(true);
  });

  it('signing out ends the session on the server: a copied cookie stops working', async () => {
    const t = await platform(engine);
    const op = new DashboardClient(t.baseUrl);
    await op.login('operator', PASSWORDS.operator);
    const copy = new DashboardClient(t.baseUrl);
    for (const [k, v] of op.cookies) copy.cookies.set(k, v);
    expect((await copy.request('GET', '/admin/board/api/queues')).status).toBe(200);
    expect((await op.request('POST', '/admin/logout', { form: { _csrf: op.csrf } })).status).toBe(303);
    expect((await copy.request('GET', '/admin/board/api/queues')).status).toBe(401);
    const form = await copy.request('POST', '/admin/queues/default/pause', { form: { _csrf: op.csrf } });
    expect(form.status).toBe(401);
    // signing in again works
    await op.login('operator', PASSWORDS.operator);
    expect((await op.request('GET', '/admin/board/api/queues')).status).toBe(200);
  });

  it('no X-Powered-By anywhere (Bull Board too); X-Frame-Options and frame-ancestors everywhere; HSTS over https', async () => {
    const t = await platform(engine);
    const admin = new DashboardClient(t.baseUrl);
    await admin.login('admin', PASSWORDS.admin);
    const paths = [
      '/healthz',
      '/v1/queues',
      '/v1/nope',
      '/admin',
      '/admin/login',
      '/admin/board',
      '/admin/board/api/queues',
      '/admin/board/static/x.js',
    ];
    for (const path of paths) {
      const r = await admin.request('GET', path, { headers: { authorization: `Bearer ${t.keys.admin}` } });
      expect(r.headers.get('x-powered-by'), path).toBeNull();
      expect(r.headers.get('x-frame-options'), path).toBe('DENY');
      expect(r.headers.get('content-security-policy'), path).toContain("frame-ancestors 'none'");
      expect(r.headers.get('strict-transport-security'), path).toBeNull();
    }
    // over https as a trusted proxy (loopback) says: HSTS
    const https = await t.api('GET', '/healthz', undefined, { headers: { 'x-forwarded-proto': 'https' } });
    expect(https.headers.get('strict-transport-security')).toBe('max-age=15552000');
  });
});

it('slow clients: headers or body not in within the timeouts get the connection closed; connections are capped', async () => {
  const config = testConfig({ HTTP_HEADERS_TIMEOUT_MS: '1000', HTTP_REQUEST_TIMEOUT_MS: '1500', HTTP_MAX_CONNECTIONS: '3' });
  const app = express();
  app.post('/', express.json(), (_req, res) => {
    res.json({ ok: true });
  });
  const server = createHttpServer(app, config);
  server.listen(0, '127.0.0.1');
  await new Promise<void>((r) => server.once('listening', () => r()));
  onTestFinished(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });
  const port = (server.address() as AddressInfo).port;
  const open = (first: string) => {
    const s = connect(port, '127.0.0.1');
    const state = { closed: false, data: '' };
    s.on('data', (d) => {
      state.data += d.toString();
    });
    s.on('close', () => {
      state.closed = true;
    });
    s.on('error', () => {});
    s.write(first);
    onTestFinished(() => void s.destroy());
    return { s, state };
  };
  const slowHeaders = open('POST / HTTP/1.1\r\nHost: x\r\n');
  const slowBody = open('POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"a":');
  const third = open('');
  // a fourth connection over the cap of 3 is refused (closed at once, nothing answered)
  const over = open('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
  await waitFor(() => over.state.closed, { what: 'the connection over the cap closed', timeoutMs: 5_000 });
  expect(over.state.data).toBe('');
  await waitFor(() => slowHeaders.state.closed && slowBody.state.closed, { what: 'slow requests closed', timeoutMs: 10_000 });
  expect(slowBody.state.data).toMatch(/^HTTP\/1.1 408/);
  third.s.destroy();
});
