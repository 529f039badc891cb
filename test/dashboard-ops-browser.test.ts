// The operator pages added for issue 14 in a real browser (chromium via playwright-core), on each engine:
// the audit log page (who did what, filters, everything shown as text, admins only) and the overview's
// last-hour charts. Screenshots go to test-artifacts/dashboard/<engine>/.
import { existsSync, mkdirSync } from 'node:fs';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { dashboardOverrides, PASSWORDS, type TestRole } from './dashboard-users.ts';
import { describeEngines, engineNames } from './engines.ts';
import { type EngineName, setup, type TestPlatform } from './helpers.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SHOTS = 'test-artifacts/dashboard';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'];

let browser: Browser;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`chromium not found at ${CHROMIUM}: apt-get install -y chromium (or set CHROMIUM_PATH)`);
  for (const engine of engineNames) mkdirSync(`${SHOTS}/${engine}`, { recursive: true });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, headless: true });
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
});
