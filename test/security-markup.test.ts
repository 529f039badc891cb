// Markup in every rendered field stays text in a real browser (issue 12, deliverable 6), on both engines.
// Script payloads go into job data, job names, errors, schedule names and data, audit entries (actor,
// target), a declared kind's description, and every query parameter a page might echo; then every page the
// dashboard router serves (taken from the router, so a new page is visited without editing this file) and
// Bull Board's pages are opened in headless chromium. A payload that ran would set a window flag or open a
// dialog; one parsed as markup (that the CSP alone kept from running) leaves an element with an event
// handler or an inline script: none of these may happen on any page.
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { dlqName } from '../core/engines/bullmq/engine.ts';
import { createDashboard } from '../dashboard/index.ts';
import { toEnqueueRequest } from '../workers/catalog.ts';
import { launchChromium } from './browser.ts';
import { DashboardClient, dashboardOverrides, PASSWORDS } from './dashboard-users.ts';
import { describeEngines } from './engines.ts';
import { quietLogger, setup, type TestPlatform, waitFor } from './helpers.ts';

/** every payload bumps window.__xss and opens a dialog if it ever runs */
const RUN = 'window.__xss=1;alert(1)';
const PAYLOAD = `<img src=x onerror="${RUN}"><script>${RUN}</script>"'><svg onload="${RUN}"></svg><a href="javascript:${RUN}">x</a>`;
const SHORT = `<img src=x onerror=${RUN}>`;
// kinds' data fields cap strings at 200 characters: the payload fits
if (PAYLOAD.length > 200) throw new Error(`payload is ${PAYLOAD.length} characters`);

let browser: Browser;
beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});

/** Puts the payload everywhere the dashboard shows something a caller chose; returns ids to visit. */
async function seed(t: TestPlatform) {
  const ok = (r: { status: number; body: unknown }, what: string) =>
    expect(r.status, `${what}: ${JSON.stringify(r.body)}`).toBeLessThan(300);
  // job data and its error (the sleep kind fails naming its tag), dead-lettered
  const dead = await t.api('POST', '/v1/jobs', { name: 'diagnostics.sleep', data: { ms: 0, fail: 'permanent', tag: PAYLOAD } });
  ok(dead, 'dead job');
  const waiting = await t.api('POST', '/v1/jobs', { name: 'diagnostics.noop', data: { note: PAYLOAD } });
  ok(waiting, 'waiting job');
  // a job whose name is markup (a plain producer can write any name)
  const named = await t.engine.enqueue({
    ...toEnqueueRequest({ name: 'diagnostics.noop', data: {}, options: {} }, t.config, {}),
    name: SHORT,
  });
  // schedules: a name and data with markup (a name the API refuses is fine: then only the data carries it)
  const schedule = await t.api('PUT', `/v1/schedules/${encodeURIComponent(SHORT)}`, {
    cron: '0 3 * * *',
    job: { name: 'diagnostics.noop', data: { note: PAYLOAD } },
  });
  expect(schedule.status, JSON.stringify(schedule.body)).toBeLessThan(500);
  ok(
    await t.api('PUT', '/v1/schedules/markup-data', { cron: '0 3 * * *', job: { name: 'diagnostics.noop', data: { note: PAYLOAD } } }),
    'schedule',
  );
  // a declared kind whose description is markup
  ok(await t.api('PUT', '/v1/kinds/xss.kind', { url: 'http://127.0.0.1:9/x', description: PAYLOAD }), 'kind');
  // audit entries: a failed sign-in as a markup user, a call whose target is markup
  const anon = new DashboardClient(t.baseUrl);
  await anon.login(PAYLOAD, 'nope');
  await t.api('POST', `/v1/queues/${encodeURIComponent(SHORT)}/pause`);
  t.startWorker();
  await waitFor(async () => (await t.engine.getJob(dead.body.id))?.state === 'dead', { timeoutMs: 20_000, what: 'the dead job' });
  return { deadId: dead.body.id as string, jobId: waiting.body.id as string, namedId: named.job.id };
}

/** GET pages of the dashboard router, params filled in with the seeded ids */
async function dashboardPages(t: TestPlatform, ids: Awaited<ReturnType<typeof seed>>) {
  const d = await createDashboard({ config: t.config, logger: quietLogger, backend: t.backend });
  try {
    const layers = (d.router as unknown as { stack: { route?: { path: string; methods: Record<string, boolean> } }[] }).stack;
    const paths = layers.flatMap((l) => (l.route?.methods.get ? [l.route.path] : [])).filter((p) => p !== '/login');
    const fill = (p: string) => p.replace(/:(\w+)/g, (_, name) => (name === 'name' ? 'welcome' : ids.deadId));
    const echo = `?${['q', 'id', 'kind', 'queue', 'state', 'msg', 'error', 'next', 'name', 'filter'].map((k) => `${k}=${encodeURIComponent(PAYLOAD)}`).join('&')}`;
    const own = paths.flatMap((p) => [`/admin${fill(p)}`, `/admin${fill(p)}${echo}`]);
    const board = [
      '/admin/board',
      '/admin/board/queue/default',
      `/admin/board/queue/${dlqName('default')}`,
      `/admin/board/queue/default/${encodeURIComponent(ids.jobId)}`,
      `/admin/board/queue/default/${encodeURIComponent(ids.namedId)}`,
    ];
    return [
      ...new Set([
        ...own,
        `/admin/jobs?id=${ids.deadId}`,
        `/admin/jobs?id=${ids.namedId}`,
        '/admin/login',
        `/admin/login${echo}`,
        ...board,
      ]),
    ];
  } finally {
    await d.close();
  }
}

async function visit(page: Page, path: string) {
  await page.goto(path, { waitUntil: 'load' });
  await page.waitForLoadState('networkidle').catch(() => {});
  // open every <details> and Bull Board's data tabs, so collapsed fields render too
  await page.locator('details').evaluateAll((ds) => {
    for (const d of ds) d.setAttribute('open', '');
  });
  for (const tab of await page.getByRole('tab').all()) await tab.click({ timeout: 2_000 }).catch(() => {});
  // what ran (window flag), and what was parsed as markup even if the CSP kept it from running
  return page.evaluate(() => {
    const doc = (globalThis as unknown as { document: any }).document;
    const handlers = doc.querySelectorAll('[onerror],[onload],a[href^="javascript:"]').length;
    const scripts = [...doc.scripts].filter((s: { textContent: string }) => s.textContent.includes('__xss')).length;
    return { ran: (globalThis as unknown as { __xss?: number }).__xss, parsed: handlers + scripts };
  });
}

describeEngines('markup in the dashboard', { timeout: 180_000 }, (engine) => {
  it('script payloads in every rendered field and echoed parameter never run, on every dashboard and Bull Board page', async () => {
    const t = await setup({ engine, ...(await dashboardOverrides()), HTTP_TARGET_ALLOWLIST: '127.0.0.1' });
    const ids = await seed(t);
    const pages = await dashboardPages(t, ids);
    expect(pages.length).toBeGreaterThan(15);
    const context = await browser.newContext({ baseURL: t.baseUrl });
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    const dialogs: string[] = [];
    page.on('dialog', (d) => {
      dialogs.push(`${page.url()}: ${d.message()}`);
      void d.dismiss();
    });
    await page.goto('/admin/login');
    await page.fill('input[name=user]', 'admin');
    await page.fill('input[name=password]', PASSWORDS.admin);
    await Promise.all([page.waitForURL((u) => u.pathname === '/admin'), page.click('button[type=submit]')]);
    const ran: string[] = [];
    let shown = 0;
    for (const path of pages) {
      const { ran: flag, parsed } = await visit(page, path);
      if (flag !== undefined) ran.push(`${path}: window.__xss = ${flag}`);
      if (parsed > 0) ran.push(`${path}: ${parsed} payload element(s) parsed as markup`);
      // the payload is on the page as text somewhere (the page did render the field)
      if ((await page.content()).includes('&lt;img src=x onerror')) shown++;
    }
    console.log(`[${engine}] markup: ${pages.length} pages visited, payload shown as text on ${shown}`);
    expect(ran).toEqual([]);
    expect(dialogs).toEqual([]);
    expect(shown).toBeGreaterThan(3);
    await context.close();
  });
});
