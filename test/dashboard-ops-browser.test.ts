// The operator pages added for issue 14 in a real browser (chromium via playwright-core), on each engine:
// the audit log page (who did what, filters, everything shown as text, admins only), the overview's
// last-hour charts, and a bulk retry of 1,000 dead letters by filter through the confirm step (a viewer
// refused even with a valid CSRF token). Screenshots go to test-artifacts/dashboard/<engine>/.
import { mkdirSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it, onTestFinished } from 'vitest';
import { metricsHooks } from '../core/metrics/job-metrics.ts';
import { ThroughputRecorder } from '../core/metrics/throughput.ts';
import { catalogView } from '../workers/catalog.ts';
import { handlers } from '../workers/diagnostics/handlers.ts';
import { startWorkers } from '../workers/runtime.ts';
import { launchChromium } from './browser.ts';
import { dashboardOverrides, PASSWORDS, type TestRole } from './dashboard-users.ts';
import { describeEngines, engineNames } from './engines.ts';
import { type EngineName, quietLogger, setup, type TestPlatform, waitFor } from './helpers.ts';

type AuditRow = { actor: string; action: string; outcome: string };

const SHOTS = 'test-artifacts/dashboard';

let browser: Browser;

beforeAll(async () => {
  for (const engine of engineNames) mkdirSync(`${SHOTS}/${engine}`, { recursive: true });
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
});

async function open(t: TestPlatform) {
  const context = await browser.newContext({ baseURL: t.baseUrl });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  const dialogs: string[] = [];
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  return { context, page, dialogs };
}

async function signIn(page: Page, user: string, password: string) {
  await page.goto('/admin/login');
  await page.fill('input[name=user]', user);
  await page.fill('input[name=password]', password);
  await page.click('button[type=submit]');
}

const as = (page: Page, role: TestRole) => signIn(page, role, PASSWORDS[role]);
const shot = (page: Page, engine: EngineName, name: string) => page.screenshot({ path: `${SHOTS}/${engine}/${name}.png`, fullPage: true });

describeEngines('dashboard operator pages in a browser', { timeout: 90_000 }, (engine) => {
  it('the audit log shows who paused a queue and who failed to sign in, as text, to admins only', async () => {
    const t = await setup({ engine, ...(await dashboardOverrides()) });
    const evil = '<img src=x onerror="window.__pwned=1;alert(1)">';
    const s = await open(t);
    await signIn(s.page, evil, 'nope'); // a failed sign-in is recorded under the name given
    await s.page.getByText('Wrong user or password.').waitFor();

    await as(s.page, 'operator');
    await s.page.waitForURL((u) => u.pathname === '/admin');
    await s.page.locator('tr[data-queue=email] button', { hasText: 'pause' }).click();
    await s.page.getByText('queue email paused').waitFor();
    expect((await s.page.goto('/admin/audit'))?.status()).toBe(403); // operators do not read the log
    expect(await s.page.locator('a[href="/admin/audit"]').count()).toBe(0);
    await s.page.click('#logout');
    await s.page.waitForURL((u) => u.pathname === '/admin/login');

    await as(s.page, 'admin');
    await s.page.waitForURL((u) => u.pathname === '/admin');
    await s.page.click('a[href="/admin/audit"]');
    const rows = s.page.locator('#audit tbody tr');
    await expect.poll(() => rows.count()).toBe(5); // newest first: sign-in, sign-out, pause, sign-in, failed sign-in
    const cells = async (i: number) => (await rows.nth(i).locator('td').allInnerTexts()).slice(1, 6);
    expect(await cells(1)).toEqual(['operator', 'dashboard', 'session.sign-out', '', 'ok (303)']);
    expect(await cells(2)).toEqual(['operator', 'dashboard', 'queue.pause', 'queue:email', 'ok (303)']);
    expect(await cells(4)).toEqual([evil, 'dashboard', 'session.sign-in', `user:${evil}`, 'denied (401)']);
    expect(await s.page.locator('#audit img').count()).toBe(0);
    expect(await s.page.evaluate('globalThis.__pwned')).toBeUndefined();
    await shot(s.page, engine, '20-audit-log');

    await s.page.fill('input[name=action]', 'queue.');
    await s.page.click('#audit-filter button');
    await expect.poll(() => rows.count()).toBe(1);
    expect(await rows.first().locator('td.action').textContent()).toBe('queue.pause');
    expect(s.dialogs).toEqual([]);
    await s.context.close();
  });

  it('the overview charts the last hour per queue: runs, failure rate and run time, with the numbers as text', async () => {
    const t = await setup({ engine, ...(await dashboardOverrides()) });
    // a worker as processes/worker.ts runs it: the metrics hooks feed the shared throughput store
    const recorder = new ThroughputRecorder(t.backend.throughput, 60_000);
    const rt = startWorkers({
      engine: t.engine,
      logger: quietLogger,
      handlers,
      queues: { default: 5 },
      hooks: metricsHooks(catalogView, recorder),
    });
    onTestFinished(async () => {
      await rt.close(1_000);
      await recorder.close();
    });
    const sleep = (fail: string, n: number) =>
      Array.from({ length: n }, () => ({ name: 'diagnostics.sleep', data: { ms: 0, fail }, options: { attempts: 1 } }));
    const res = await t.api('POST', '/v1/jobs/bulk', { jobs: [...sleep('never', 6), ...sleep('permanent', 4)] });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    const ids = (res.body.jobs as { id: string }[]).map((j) => j.id);
    await waitFor(
      async () => {
        const states = await Promise.all(ids.map(async (id) => (await t.engine.getJob(id))?.state));
        return states.filter((s) => s === 'completed').length === 6 && states.filter((s) => s === 'dead').length === 4;
      },
      { timeoutMs: 30_000, what: '6 completed and 4 dead' },
    );
    await recorder.flush(); // the once-a-second flush, now

    const s = await open(t);
    await as(s.page, 'viewer'); // read-only users see the charts too
    await s.page.waitForURL((u) => u.pathname === '/admin');
    const row = s.page.locator('#queue-health tr[data-queue=default]');
    expect(await row.getAttribute('data-runs')).toBe('10');
    expect(await row.getAttribute('data-failed')).toBe('4');
    expect(await row.locator('.figure.failure-rate').textContent()).toBe('40.0% (4 failed)');
    expect(await row.locator('.figure.runs').textContent()).toMatch(/^10 runs, 0\.2\/min$/);
    expect(await row.locator('svg.chart-throughput').getAttribute('aria-label')).toMatch(
      /^default throughput, last hour: 10 runs \(4 failed\), peak \d+ a minute$/,
    );
    expect(await row.locator('svg.chart-failures').getAttribute('aria-label')).toBe(
      'default failure rate, last hour: 40.0% (4 of 10 runs)',
    );
    expect(await row.locator('svg.chart-latency').getAttribute('aria-label')).toMatch(/^default mean run time, last hour: \d+ ms/);
    // the bars are drawn: non-zero throughput in at least one minute, and a failed part
    expect(await row.locator('svg.chart-throughput rect.bar').count()).toBeGreaterThan(0);
    expect(await row.locator('svg.chart-throughput rect.bar-failed').count()).toBeGreaterThan(0);
    const barHeight = Number(await row.locator('svg.chart-throughput rect.bar').first().getAttribute('height'));
    expect(barHeight).toBeGreaterThan(0);
    // the chart is 60 minutes wide, each minute names itself
    expect(await row.locator('svg.chart-throughput > g').count()).toBe(60);
    expect(await row.locator('svg.chart-throughput > g > title').first().textContent()).toMatch(/^\d\d:\d\d UTC: /);
    // a queue nothing ran on says so
    const email = s.page.locator('#queue-health tr[data-queue=email]');
    expect(await email.getAttribute('data-runs')).toBe('0');
    expect(await email.locator('svg.chart-throughput rect.bar').count()).toBe(0);
    // the text fallback: the same sums in five-minute rows
    await s.page.click('#queue-health-table summary');
    const cells = s.page.locator('#queue-health-table tbody tr', { hasText: 'default' });
    const sums = await cells.evaluateAll((trs) =>
      trs
        .map((tr) => [...tr.querySelectorAll('td')].map((td) => Number(td.textContent)))
        .reduce((a, c) => [(a[0] ?? 0) + (c[2] ?? 0), (a[1] ?? 0) + (c[3] ?? 0)] as [number, number], [0, 0] as [number, number]),
    );
    expect(sums).toEqual([10, 4]);
    await shot(s.page, engine, '21-overview-charts');
    expect(s.dialogs).toEqual([]);
    await s.context.close();
  });

  it('retries 1,000 dead letters by filter after a confirm step showing the count; a viewer may not, even with the token', async () => {
    const t = await setup({ engine, ...(await dashboardOverrides()) });
    const jobs = (tag: string, n: number) =>
      Array.from({ length: n }, () => ({ name: 'diagnostics.sleep', data: { ms: 0, fail: 'permanent', tag }, options: { attempts: 1 } }));
    for (let i = 0; i < 10; i++) expect((await t.api('POST', '/v1/jobs/bulk', { jobs: jobs('bulk-dead', 100) })).status).toBe(202);
    expect((await t.api('POST', '/v1/jobs/bulk', { jobs: jobs('other', 20) })).status).toBe(202);
    const rt = t.startWorker({ queues: { default: 50 } });
    await waitFor(async () => (await t.engine.queueInfo(['default']))[0]?.counts.dead === 1020, { timeoutMs: 60_000, what: '1,020 dead' });
    await rt.close(5_000); // retried jobs stay waiting

    const viewer = await open(t);
    await as(viewer.page, 'viewer');
    await viewer.page.waitForURL((u) => u.pathname === '/admin');
    await viewer.page.goto('/admin/jobs?search=1&state=dead&data=tag%3Dbulk-dead');
    expect(await viewer.page.locator('#bulk-action').count()).toBe(0); // no form for viewers
    const token = decodeURIComponent((await viewer.context.cookies()).find((c) => c.name === 'XSRF-TOKEN')?.value ?? '');
    expect(token).not.toBe('');
    const form = { _csrf: token, action: 'retry', state: 'dead', data: 'tag=bulk-dead' };
    // a valid token and session, still refused: the role decides
    expect((await viewer.page.request.post('/admin/jobs/actions', { form })).status()).toBe(403);
    expect((await viewer.page.request.post('/admin/jobs/actions/confirm', { form })).status()).toBe(403);
    expect((await t.engine.queueInfo(['default']))[0]?.counts.dead).toBe(1020);
    await viewer.context.close();

    const s = await open(t);
    await as(s.page, 'operator');
    await s.page.waitForURL((u) => u.pathname === '/admin');
    await s.page.goto('/admin/jobs');
    await s.page.fill('#job-search input[name=state]', 'dead');
    await s.page.fill('#job-search textarea[name=data]', 'tag=bulk-dead');
    await Promise.all([s.page.waitForURL((u) => u.searchParams.get('search') === '1'), s.page.click('#job-search button[type=submit]')]);
    expect(await s.page.locator('main table tbody tr').count()).toBe(50); // the first page
    expect(await s.page.locator('#next-page').count()).toBe(1);
    await s.page.selectOption('#bulk-action select[name=action]', 'retry');
    await Promise.all([s.page.waitForURL((u) => u.pathname === '/admin/jobs/actions'), s.page.click('#bulk-action button[type=submit]')]);
    expect(await s.page.locator('#bulk-confirm').textContent()).toBe('1000 jobs match. retry them all?');
    expect((await t.engine.queueInfo(['default']))[0]?.counts.dead).toBe(1020); // the count changed nothing
    await shot(s.page, engine, '22-bulk-retry-confirm');
    await Promise.all([s.page.waitForURL((u) => u.pathname.startsWith('/admin/jobs/actions/')), s.page.click('#confirm')]);
    await waitFor(
      async () => {
        await s.page.reload();
        return (await s.page.locator('#bulk-progress').getAttribute('data-status')) === 'done';
      },
      { timeoutMs: 60_000, what: 'bulk retry done' },
    );
    expect(await s.page.locator('#bulk-progress .processed').textContent()).toBe('1000');
    expect(await s.page.locator('#bulk-progress .succeeded').textContent()).toBe('1000');
    await shot(s.page, engine, '23-bulk-retry-done');
    const info = (await t.engine.queueInfo(['default']))[0];
    expect(info?.counts.dead).toBe(20); // the others stay dead
    expect(info?.counts.waiting).toBe(1000);
    // the audit log has the operator's action and the viewer's two refusals
    const entries = (await t.api('GET', '/v1/audit?action=jobs.&via=dashboard')).body.entries as AuditRow[];
    expect(entries.map((e) => [e.actor, e.action, e.outcome]).reverse()).toEqual([
      ['viewer', 'jobs.bulk-action-review', 'denied'],
      ['viewer', 'jobs.bulk-action', 'denied'],
      ['operator', 'jobs.bulk-action-review', 'ok'],
      ['operator', 'jobs.bulk-action', 'ok'],
    ]);
    expect(s.dialogs).toEqual([]);
    await s.context.close();
  });
});
