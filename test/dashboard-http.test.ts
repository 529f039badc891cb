// The dashboard over plain HTTP (no browser): who gets in, what is refused, and the reads behind our pages.
import { describe, expect, it } from 'vitest';
import { dlqName } from '../core/engines/bullmq/engine.ts';
import { boardPolicy } from '../dashboard/board.ts';
import { escapeHtml, html } from '../dashboard/html.ts';
import { hashPassword, verifyPassword } from '../dashboard/password.ts';
import { healthSection, summarize } from '../dashboard/queue-health.ts';
import { DashboardClient, dashboardOverrides, PASSWORDS } from './dashboard-users.ts';
import { describeEngines } from './engines.ts';
import { setup, waitFor } from './helpers.ts';

describe('dashboard helpers', () => {
  it('hashes passwords with scrypt and escapes HTML', async () => {
    const h = await hashPassword('s3cret');
    expect(h).toMatch(/^scrypt\$16384\$8\$1\$/);
    expect(await verifyPassword('s3cret', h)).toBe(true);
    expect(await verifyPassword('s3cret ', h)).toBe(false);
    expect(escapeHtml(`<script>alert("x")</script>&'`)).toBe('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;');
    expect(html`<p>${'<b>'}${html`<i>ok</i>`}</p>`.value).toBe('<p>&lt;b&gt;<i>ok</i></p>');
    expect(boardPolicy('PUT', '/api/queues/default/123/retry')).toBe('operator');
    expect(boardPolicy('PUT', '/api/queues/default/obliterate')).toBe('admin');
    expect(boardPolicy('POST', '/api/queues/default/add')).toBe('nobody');
  });

  it('renders the health charts escaped, with the figures as text, and a note when the store did not answer', () => {
    const minute = 29_000_000;
    const minutes = Array.from({ length: 60 }, (_, i) => ({
      minute: minute + i,
      finished: i === 59 ? 8 : i === 30 ? 2 : 0,
      failed: i === 59 ? 2 : 0,
      runMs: i === 59 ? 80 : i === 30 ? 100 : 0,
    }));
    expect(summarize(minutes)).toEqual({ runs: 10, failed: 2, failureRate: 0.2, meanRunMs: 18 });
    const out = healthSection({ '<q>"x': minutes }).value;
    expect(out).not.toContain('<q>');
    expect(out).toContain('aria-label="&lt;q&gt;&quot;x failure rate, last hour: 20.0% (2 of 10 runs)"');
    expect(out).toContain('aria-label="&lt;q&gt;&quot;x mean run time, last hour: 18 ms (slowest minute 50 ms)"');
    expect(out).toContain('data-failure-rate="20.0%"');
    expect(out.match(/class="bar"/g)?.length).toBe(2 + 1 + 2); // throughput: 2 minutes, failures: 1, run time: 2
    expect(out).not.toMatch(/<script|\son\w+=/i);
    expect(healthSection(null).value).toContain('id="queue-health-missing"');
  });
});

describeEngines('dashboard over HTTP', (engine) => {
  it('answers unauthenticated requests with the sign-in page or 401, never data', async () => {
    const t = await setup({ engine, ...(await dashboardOverrides()) });
    const anon = new DashboardClient(t.baseUrl);
    for (const path of ['/admin', '/admin/dead-letters', '/admin/jobs?id=1', '/admin/board', '/admin/board/queue/default']) {
      const r = await anon.request('GET', path);
      expect(r.status, path).toBe(303);
      expect(r.location).toMatch(/^\/admin\/login\?next=/);
    }
    const api = await anon.request('GET', '/admin/board/api/queues');
    expect(api.status).toBe(401);
    expect(JSON.parse(api.text).error.code).toBe('unauthorized');
    const post = await anon.request('POST', '/admin/dead-letters/x/replay', { form: { _csrf: 'x' } });
    expect(post.status).toBe(401);
    const login = await anon.request('GET', '/admin/login');
    expect(login.status).toBe(200);
    expect(login.text).toContain('<form method="post" action="/admin/login"');
    // a forged session cookie is ignored
    anon.cookies.set('cv_dash', 's%3Aj%3A%7B%22u%22%3A%22admin%22%7D.forged');
    expect((await anon.request('GET', '/admin/board/api/queues')).status).toBe(401);
  });

  it('signs in, refuses CSRF-less and cross-site posts, enforces roles, signs out', async () => {
    const t = await setup({ engine, ...(await dashboardOverrides()) });
    const op = new DashboardClient(t.baseUrl);
    const bad = await op.login('operator', 'wrong');
    expect(bad.status).toBe(401);
    const ok = await op.login('operator', PASSWORDS.operator);
    expect(ok.status).toBe(303);
    expect(ok.location).toBe('/admin');
    const setCookies = ok.headers.getSetCookie().join('\n');
    expect(setCookies).toMatch(/cv_dash=[^;]+;.*HttpOnly/);
    expect(setCookies).toMatch(/cv_dash=[^;]+;.*SameSite=Lax/);
    expect(setCookies).toMatch(/XSRF-TOKEN=[^;]+;.*SameSite=Strict/);

    const overview = await op.request('GET', '/admin');
    expect(overview.status).toBe(200);
    expect(overview.text).toContain('data-queue="default"');
    const queues = await op.request('GET', '/admin/board/api/queues');
    expect(queues.status).toBe(200);
    const names = (JSON.parse(queues.text).queues as { name: string }[]).map((q) => q.name);
    expect(names).toEqual(expect.arrayContaining(['default', dlqName('default')]));

    // no token → refused; a token from another site's Origin → refused; with the token → done
    const noToken = await op.request('POST', '/admin/queues/default/pause', { form: {} });
    expect(noToken.status).toBe(403);
    const boardNoToken = await op.request('PUT', '/admin/board/api/queues/default/pause', { json: {} });
    expect(boardNoToken.status).toBe(403);
    const crossSite = await op.request('POST', '/admin/queues/default/pause', {
      form: { _csrf: op.csrf },
      headers: { origin: 'https://evil.example' },
    });
    expect(crossSite.status).toBe(403);
    expect((await t.engine.queueInfo(['default']))[0]?.paused).toBe(false);
    const paused = await op.request('PUT', '/admin/board/api/queues/default/pause', { json: {}, headers: { 'x-xsrf-token': op.csrf } });
    expect(paused.status).toBe(200);
    expect((await t.engine.queueInfo(['default']))[0]?.paused).toBe(true);
    const resumed = await op.request('POST', '/admin/queues/default/resume', { form: { _csrf: op.csrf } });
    expect(resumed.status).toBe(303);
    expect((await t.engine.queueInfo(['default']))[0]?.paused).toBe(false);
    // enqueueing from the board would skip the catalog: refused for everyone
    const add = await op.request('POST', '/admin/board/api/queues/default/add', {
      json: { name: 'diagnostics.noop', data: {} },
      headers: { 'x-xsrf-token': op.csrf },
    });
    expect(add.status).toBe(403);
    // operator may not do admin-only board actions
    const obliterate = await op.request('PUT', '/admin/board/api/queues/default/obliterate', {
      json: {},
      headers: { 'x-xsrf-token': op.csrf },
    });
    expect(obliterate.status).toBe(403);

    const viewer = new DashboardClient(t.baseUrl);
    expect((await viewer.login('viewer', PASSWORDS.viewer)).status).toBe(303);
    const vPause = await viewer.request('PUT', '/admin/board/api/queues/default/pause', {
      json: {},
      headers: { 'x-xsrf-token': viewer.csrf },
    });
    expect(vPause.status).toBe(403);
    const vForm = await viewer.request('POST', '/admin/queues/default/pause', { form: { _csrf: viewer.csrf } });
    expect(vForm.status).toBe(403);
    expect((await t.engine.queueInfo(['default']))[0]?.paused).toBe(false);
    expect((await viewer.request('GET', '/admin')).text).not.toContain('/admin/queues/default/pause');

    const out = await op.request('POST', '/admin/logout', { form: { _csrf: op.csrf } });
    expect(out.status).toBe(303);
    expect(op.cookies.has('cv_dash')).toBe(false);
    expect((await op.request('GET', '/admin/board/api/queues')).status).toBe(401);
  });

  it('marks cookies Secure behind https (X-Forwarded-Proto)', async () => {
    const t = await setup({ engine, ...(await dashboardOverrides()) });
    const c = new DashboardClient(t.baseUrl);
    const page = await c.request('GET', '/admin/login', { headers: { 'x-forwarded-proto': 'https' } });
    const token = /name="_csrf" value="([^"]+)"/.exec(page.text)?.[1] ?? '';
    const res = await c.request('POST', '/admin/login', {
      form: { _csrf: token, next: '/admin', user: 'viewer', password: PASSWORDS.viewer },
      headers: { 'x-forwarded-proto': 'https' },
    });
    expect(res.status).toBe(303);
    const cookies = res.headers.getSetCookie();
    expect(cookies.find((x) => x.startsWith('cv_dash='))).toMatch(/; Secure/);
    expect(cookies.find((x) => x.startsWith('XSRF-TOKEN='))).toMatch(/; Secure/);
  });

  it('rate-limits sign-in attempts', async () => {
    const t = await setup({ engine, ...(await dashboardOverrides({ DASHBOARD_LOGIN_ATTEMPTS: '3' })) });
    const c = new DashboardClient(t.baseUrl);
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await c.login('admin', `guess-${i}`)).status);
    expect(statuses).toEqual([401, 401, 401, 429]);
    // even the right password waits now
    const right = await c.login('admin', PASSWORDS.admin);
    expect(right.status).toBe(429);
    expect(Number(right.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('finds jobs by id and idempotency key, and replays a dead letter', async () => {
    const t = await setup({ engine, ...(await dashboardOverrides()) });
    const c = new DashboardClient(t.baseUrl);
    await c.login('operator', PASSWORDS.operator);
    const enq = await t.api('POST', '/v1/jobs', {
      name: 'diagnostics.noop',
      data: { note: 'find <me>' },
      options: { idempotencyKey: 'order-42' },
    });
    expect(enq.status, JSON.stringify(enq.body)).toBe(202);
    const byKey = await c.request('GET', '/admin/jobs?kind=diagnostics.noop&key=order-42');
    expect(byKey.text).toContain(`Job ${enq.body.id}`);
    expect(byKey.text).toContain('find &lt;me&gt;');
    const byId = await c.request('GET', `/admin/jobs?id=${encodeURIComponent(enq.body.id)}`);
    expect(byId.text).toContain('<th>State</th><td>waiting</td>');

    t.startWorker();
    const dead = await t.api('POST', '/v1/jobs', {
      name: 'diagnostics.sleep',
      data: { ms: 0, fail: 'permanent', tag: '<img src=x onerror=alert(1)>' },
    });
    await waitFor(async () => (await t.engine.getJob(dead.body.id))?.state === 'dead', { timeoutMs: 20_000, what: 'job dead' });
    const list = await c.request('GET', '/admin/dead-letters');
    expect(list.text).toContain(`data-id="${dead.body.id}"`);
    expect(list.text).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(list.text).not.toContain('<img src=x');
    const [before] = await t.engine.listDeadLetters(['default'], 10);
    const replay = await c.request('POST', `/admin/dead-letters/${dead.body.id}/replay`, { form: { _csrf: c.csrf } });
    expect(replay.status).toBe(303);
    expect(replay.location).toContain('/admin/dead-letters?msg=');
    // it runs again and, failing permanently, dies again: a fresh letter with a later deadAt
    await waitFor(
      async () => {
        const letters = await t.engine.listDeadLetters(['default'], 10);
        return letters.length === 1 && letters[0]?.id === dead.body.id && (letters[0]?.deadAt ?? '') > (before?.deadAt ?? '');
      },
      { timeoutMs: 20_000, what: 'replayed job dead-lettered again' },
    );
  });

  it('finds jobs by kind and shows the last hour’s finished runs and failure rate', async () => {
    const t = await setup({ engine, ...(await dashboardOverrides()) });
    const c = new DashboardClient(t.baseUrl);
    await c.login('viewer', PASSWORDS.viewer);
    const ok = await t.api('POST', '/v1/jobs', { name: 'diagnostics.noop', data: {} });
    const bad = await t.api('POST', '/v1/jobs', { name: 'diagnostics.sleep', data: { ms: 0, fail: 'permanent' } });
    const byKind = await c.request('GET', '/admin/jobs?kind=diagnostics.noop');
    expect(byKind.text).toContain(ok.body.id);
    expect(byKind.text).not.toContain(bad.body.id);
    t.startWorker();
    await waitFor(async () => (await t.engine.getJob(ok.body.id))?.state === 'completed', { timeoutMs: 20_000, what: 'noop done' });
    await waitFor(async () => (await t.engine.getJob(bad.body.id))?.state === 'dead', { timeoutMs: 20_000, what: 'sleep dead' });
    // last hour on `default`: the noop completed, the sleep job failed for good → 2 finished, 50% failed
    const overview = await c.request('GET', '/admin');
    expect(overview.text).toMatch(/data-queue="default">.*?<td class="finished">2<\/td><td class="failure-rate">50\.0%<\/td>/s);
  });

  it('lists schedules (admin pauses and resumes, operator may not) and previews email templates', async () => {
    const t = await setup({ engine, ...(await dashboardOverrides()) });
    const admin = new DashboardClient(t.baseUrl);
    await admin.login('admin', PASSWORDS.admin);
    const page = await admin.request('GET', '/admin/schedules');
    expect(page.status).toBe(200);
    const name = /data-schedule="([^"]+)"/.exec(page.text)?.[1];
    expect(name, page.text).toBeTruthy();
    const op = new DashboardClient(t.baseUrl);
    await op.login('operator', PASSWORDS.operator);
    expect((await op.request('GET', '/admin/schedules')).text).not.toContain(`/admin/schedules/${name}/pause`);
    expect((await op.request('POST', `/admin/schedules/${name}/pause`, { form: { _csrf: op.csrf } })).status).toBe(403);
    const paused = await admin.request('POST', `/admin/schedules/${name}/pause`, { form: { _csrf: admin.csrf } });
    expect(paused.status).toBe(303);
    expect((await admin.request('GET', '/admin/schedules')).text).toContain(`${name} (paused)`);
    await admin.request('POST', `/admin/schedules/${name}/resume`, { form: { _csrf: admin.csrf } });
    expect((await admin.request('GET', '/admin/schedules')).text).not.toContain(`${name} (paused)`);

    const email = await admin.request('GET', '/admin/email');
    expect(email.text).toContain('/admin/email/templates/welcome');
    const vars = JSON.stringify({ name: '<script>alert(1)</script>', loginUrl: 'https://app.example.com/login' });
    const preview = await admin.request('GET', `/admin/email/templates/welcome?vars=${encodeURIComponent(vars)}`);
    expect(preview.status).toBe(200);
    // the rendered email sits escaped inside a sandboxed srcdoc frame, never in the page's own DOM
    expect(preview.text).toMatch(/<iframe class="preview" sandbox title="email preview" srcdoc="[^"]*&lt;html/);
    expect(preview.text).not.toContain('<script>alert(1)');
    const wrong = await admin.request('GET', `/admin/email/templates/welcome?vars=${encodeURIComponent('{"name":1}')}`);
    expect(wrong.text).toContain('vars do not match the template');
  });
});
