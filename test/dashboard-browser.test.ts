// The dashboard in a real browser (Debian chromium, headless, driven by playwright-core): sign in, see
// the queues, retry a failed job as operator, a viewer cannot, a <script> payload stays text, CSRF-less
// posts are refused, sign out; on each engine. Screenshots go to test-artifacts/dashboard/<engine>/ (CI keeps the folder).
import { mkdirSync } from 'node:fs';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { dlqName } from '../core/engines/bullmq/engine.ts';
import { groupSettler } from '../core/groups/settle.ts';
import { caughtMailStore } from '../workers/email/caught-mail.ts';
import { launchChromium } from './browser.ts';
import { dashboardOverrides, PASSWORDS, type TestRole } from './dashboard-users.ts';
import { describeEngines, engineNames, engineTraits } from './engines.ts';
import { type EngineName, setup, type TestPlatform, waitFor } from './helpers.ts';

const SHOTS = 'test-artifacts/dashboard';

let browser: Browser;

beforeAll(async () => {
  for (const engine of engineNames) mkdirSync(`${SHOTS}/${engine}`, { recursive: true });
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
});

interface Session {
  context: BrowserContext;
  page: Page;
  dialogs: string[];
  errors: string[];
}

async function signIn(t: TestPlatform, role: TestRole): Promise<Session> {
  const context = await browser.newContext({ baseURL: t.baseUrl });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  const dialogs: string[] = [];
  const errors: string[] = [];
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto('/admin');
  expect(new URL(page.url()).pathname).toBe('/admin/login');
  await page.fill('input[name=user]', role);
  await page.fill('input[name=password]', PASSWORDS[role]);
  await Promise.all([page.waitForURL((u) => u.pathname === '/admin'), page.click('button[type=submit]')]);
  return { context, page, dialogs, errors };
}

/** Bull Board's per-job promote button (lucide corner-up-left; "Promote all" has the same icon and a text) */
const PROMOTE = 'button:has(svg.lucide-corner-up-left):not(:has-text("Promote all"))';

/** Bull Board's per-job retry button: an icon (lucide refresh-cw) without the text of "Retry all". */
const jobRetryButton = (page: Page) => page.locator('button:has(svg.lucide-refresh-cw)').filter({ hasNotText: /\w/ });

/** test-artifacts/dashboard/<engine>/<name>.png */
const shot = (page: Page, engine: EngineName, name: string) => page.screenshot({ path: `${SHOTS}/${engine}/${name}.png`, fullPage: true });

/** Enqueue through the API and wait until the job is dead-lettered. */
async function deadJob(t: TestPlatform, data: Record<string, unknown>, attempts?: number) {
  const res = await t.api('POST', '/v1/jobs', { name: 'diagnostics.sleep', data, options: attempts ? { attempts } : undefined });
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  const id = res.body.id as string;
  await waitFor(async () => (await t.engine.getJob(id))?.state === 'dead', { timeoutMs: 20_000, what: `job ${id} dead` });
  return id;
}

/** `path`'s main content, every <details> opened, shows `text` as visible text. */
async function expectShownAsText(page: Page, path: string, text: string) {
  await page.goto(path);
  await page.locator('details').evaluateAll((ds) => {
    for (const d of ds) d.setAttribute('open', '');
  });
  // biome-ignore lint/performance/useDomNodeTextContent: the rendered, visible text is what this checks
  await expect.poll(() => page.locator('main').innerText(), { timeout: 20_000 }).toContain(text);
}

describeEngines('dashboard in a browser', { timeout: 90_000 }, (engine) => {
  it('operator signs in, sees the queues and retries a failed job from Bull Board', async () => {
    const t = await setup({ engine, ...(await dashboardOverrides()) });
    t.startWorker();
    const failedId = await deadJob(t, { ms: 0, fail: 'transient', failAttempts: 3, tag: 'retry-me' }, 3);

    const { page, context, errors } = await signIn(t, 'operator');
    await expect.poll(() => page.locator('#queues tr[data-queue=default]').count()).toBe(1);
    await shot(page, engine, '01-overview');

    await page.goto('/admin/board');
    await page.getByText(dlqName('default')).first().waitFor({ timeout: 20_000 });
    await shot(page, engine, '02-board');

    await page.goto('/admin/board/queue/default?status=failed');
    await page.getByText('told to fail attempt 3 of the first 3').first().waitFor({ timeout: 20_000 });
    await page.getByText('diagnostics.sleep').first().waitFor();
    await shot(page, engine, '03-board-failed');
    await jobRetryButton(page).first().click();
    const dialog = page.getByRole('alertdialog').or(page.getByRole('dialog'));
    await dialog.getByText('Are you sure that you want to retry this job?').waitFor();
    await shot(page, engine, '04-board-confirm-retry');
    const [letter] = await t.engine.listDeadLetters(['default'], 10);
    await dialog.getByRole('button', { name: 'Confirm' }).click();
    if (engineTraits[engine].boardRetryOfDeadJob === 'continues its attempts') {
      // the 4th run passes; the job lives again, so its dead letter is gone
      await waitFor(async () => (await t.engine.getJob(failedId))?.state === 'completed', {
        timeoutMs: 20_000,
        what: 'retried job completed',
      });
      expect((await t.engine.listDeadLetters(['default'], 10)).map((d) => d.id)).not.toContain(failedId);
    } else {
      // replayed under its id with fresh attempts: its first 3 fail again, so it is dead again, with a later deadAt
      await waitFor(
        async () => {
          const [again] = await t.engine.listDeadLetters(['default'], 10);
          return again?.id === failedId && again.deadAt > (letter?.deadAt ?? '') && again.attempts.length === 3;
        },
        { timeoutMs: 20_000, what: 'replayed job ran its 3 attempts again' },
      );
    }
    await shot(page, engine, '05-board-retried');
    expect(errors).toEqual([]);
    await context.close();
  });

  it('viewer sees read-only pages and is refused in the UI and on direct POST', async () => {
    const t = await setup({ engine, ...(await dashboardOverrides()) });
    t.startWorker();
    const deadId = await deadJob(t, { ms: 0, fail: 'permanent', tag: 'viewer-cannot' });

    const { page, context } = await signIn(t, 'viewer');
    await page.goto('/admin/dead-letters');
    await expect.poll(() => page.locator(`tr[data-id="${deadId}"]`).count()).toBe(1);
    expect(await page.getByRole('button', { name: 'Replay' }).count()).toBe(0);
    expect(await page.locator('form[action$="/pause"]').count()).toBe(0);
    await shot(page, engine, '05-viewer-dead-letters');

    await page.goto('/admin/board/queue/default?status=failed');
    await page.getByText('told to fail permanently (viewer-cannot)').first().waitFor({ timeout: 20_000 });
    await shot(page, engine, '06-viewer-board');
    expect(await jobRetryButton(page).count()).toBe(0);

    // direct requests with a valid session and token: refused by role
    const csrf = decodeURIComponent((await context.cookies()).find((c) => c.name === 'XSRF-TOKEN')?.value ?? '');
    expect(csrf).not.toBe('');
    const replay = await page.request.post(`/admin/dead-letters/${deadId}/replay`, { form: { _csrf: csrf } });
    expect(replay.status()).toBe(403);
    const retry = await page.request.put(`/admin/board/api/queues/default/${deadId}/retry`, {
      headers: { 'x-xsrf-token': csrf },
      data: {},
    });
    expect(retry.status()).toBe(403);
    expect((await t.engine.getJob(deadId))?.state).toBe('dead');
    await context.close();
  });

  it('keeps a <script> payload inert, refuses CSRF-less posts, and signs out', async () => {
    const t = await setup({ engine, ...(await dashboardOverrides()) });
    t.startWorker();
    const evil = '<script>window.__pwned = 1; alert("xss")</script><img src=x onerror="alert(2)">';
    const deadId = await deadJob(t, { ms: 0, fail: 'permanent', tag: evil });

    const { page, context, dialogs, errors } = await signIn(t, 'operator');
    for (const path of ['/admin/dead-letters', `/admin/jobs?id=${deadId}`])
      await expectShownAsText(page, path, '<script>window.__pwned = 1;');
    await shot(page, engine, '07-script-payload-as-text');
    await page.goto(`/admin/board/queue/${dlqName('default')}`);
    await page.getByText('told to fail permanently').first().waitFor({ timeout: 20_000 });
    await page.getByRole('tab', { name: 'Data' }).first().click();
    await page.getByText('window.__pwned = 1;').first().waitFor();
    await shot(page, engine, '08-board-dead-letter');
    expect(await page.evaluate(() => (globalThis as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
    expect(dialogs).toEqual([]);
    expect(errors).toEqual([]);

    // CSRF-less POST with the operator's own session cookie: refused, nothing happens
    const noToken = await page.request.post(`/admin/dead-letters/${deadId}/replay`, { form: {} });
    expect(noToken.status()).toBe(403);
    const noHeader = await page.request.put('/admin/board/api/queues/default/pause', { data: {} });
    expect(noHeader.status()).toBe(403);
    expect((await t.engine.getJob(deadId))?.state).toBe('dead');
    expect((await t.engine.queueInfo(['default']))[0]?.paused).toBe(false);

    // with the form (token included) the replay goes through
    await page.goto('/admin/dead-letters');
    await Promise.all([page.waitForURL(/msg=/), page.locator(`tr[data-id="${deadId}"]`).getByRole('button', { name: 'Replay' }).click()]);
    await expect.poll(() => page.getByRole('status').textContent()).toContain(`replayed ${deadId}`);

    await Promise.all([page.waitForURL((u) => u.pathname === '/admin/login'), page.click('#logout')]);
    await shot(page, engine, '09-signed-out');
    await page.goto('/admin/board');
    expect(new URL(page.url()).pathname).toBe('/admin/login');
    const api = await page.request.get('/admin/board/api/queues');
    expect(api.status()).toBe(401);
    await context.close();
  });

  it('lists jobs by kind with a <script> payload as inert text', async () => {
    const t = await setup({ engine, ...(await dashboardOverrides()) });
    t.startWorker();
    const evil = '<script>window.__pwned = 2</script>';
    await deadJob(t, { ms: 0, fail: 'permanent', tag: evil }); // the list shows its error, which names the tag
    const { page, context, dialogs, errors } = await signIn(t, 'viewer');
    await expectShownAsText(page, '/admin/jobs?kind=diagnostics.sleep', evil);
    expect(await page.evaluate(() => (globalThis as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
    expect(dialogs).toEqual([]);
    expect(errors).toEqual([]);
    await context.close();
  });

  it('searches jobs by a payload prefix (inert text) and replays the dead matches after a confirm step showing the count', async () => {
    const t = await setup({ engine, ...(await dashboardOverrides()) });
    const rt = t.startWorker();
    const evil = '<script>window.__pwned = 3</script>';
    const dead = [
      await deadJob(t, { ms: 0, fail: 'permanent', tag: `cust-42 ${evil}` }, 1),
      await deadJob(t, { ms: 0, fail: 'permanent', tag: 'cust-42b' }, 1),
    ];
    const other = await deadJob(t, { ms: 0, fail: 'permanent', tag: 'cust-7' }, 1);
    await rt.close(5_000); // replayed jobs stay waiting
    const { page, context, dialogs, errors } = await signIn(t, 'operator');
    await page.goto('/admin/jobs');
    await page.selectOption('#job-search select[name=kind]', 'diagnostics.sleep');
    await page.fill('#job-search input[name=state]', 'dead');
    await page.fill('#job-search textarea[name=data]', 'tag=cust-42*');
    await Promise.all([page.waitForURL((u) => u.searchParams.get('search') === '1'), page.click('#job-search button[type=submit]')]);
    const rows = page.locator('main table tbody tr');
    await expect.poll(() => rows.count()).toBe(2);
    const text = (await page.locator('main').textContent()) ?? '';
    for (const id of dead) expect(text).toContain(id);
    expect(text).not.toContain(other);
    expect(text).toContain(evil); // the error names the tag: shown as text
    await shot(page, engine, 'job-search');

    await page.selectOption('#bulk-action select[name=action]', 'replay');
    await Promise.all([page.waitForURL((u) => u.pathname === '/admin/jobs/actions'), page.click('#bulk-action button[type=submit]')]);
    expect(await page.locator('#bulk-confirm').textContent()).toBe('2 jobs match. replay them all?');
    for (const id of dead) expect((await t.engine.getJob(id))?.state).toBe('dead'); // nothing done before the confirm
    await Promise.all([page.waitForURL((u) => u.pathname.startsWith('/admin/jobs/actions/')), page.click('#confirm')]);
    await waitFor(async () => {
      await page.reload();
      return (await page.locator('#bulk-progress').getAttribute('data-status')) === 'done';
    });
    expect(await page.locator('#bulk-progress .succeeded').textContent()).toBe('2');
    for (const id of dead) expect((await t.engine.getJob(id))?.state).toBe('waiting');
    expect((await t.engine.listDeadLetters(['default'], 10)).map((d) => d.id)).toEqual([other]);
    expect(await page.evaluate(() => (globalThis as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
    expect(dialogs).toEqual([]);
    expect(errors).toEqual([]);

    const viewer = await signIn(t, 'viewer');
    await viewer.page.goto(`/admin/jobs?search=1&kind=diagnostics.sleep`);
    expect(await viewer.page.locator('#bulk-action').count()).toBe(0);
    const refused = await viewer.page.request.post('/admin/jobs/actions', { form: { action: 'replay', kind: 'diagnostics.sleep' } });
    expect(refused.status()).toBe(403);
    await viewer.context.close();
    await context.close();
  });

  it('shows email previews and caught mail in sandboxed frames where scripts never run', async () => {
    const t = await setup({ engine, ...(await dashboardOverrides()) });
    const html = '<html><body><p id="greeting">Hello</p><script>alert("caught")</script><img src=x onerror="alert(3)"></body></html>';
    await caughtMailStore(t.backend).push(
      {
        id: 'mail-1',
        receivedAt: new Date().toISOString(),
        envelope: { from: 'a@example.com', to: ['b@example.com'] },
        subject: 'Subject <b>not bold</b>',
        from: 'a@example.com',
        to: 'b@example.com',
        replyTo: null,
        messageId: null,
        headers: [],
        html,
        text: 'Hello',
        attachments: [],
        size: html.length,
      },
      10,
    );

    const { page, context, dialogs, errors } = await signIn(t, 'admin');
    const vars = JSON.stringify({ name: '<script>alert(1)</script>Ada', loginUrl: 'https://app.example.com/login' });
    await page.goto(`/admin/email/templates/welcome?vars=${encodeURIComponent(vars)}`);
    const frame = page.frameLocator('iframe.preview');
    await expect.poll(() => frame.locator('body').textContent(), { timeout: 20_000 }).toContain('<script>alert(1)</script>Ada');
    expect(await page.locator('iframe.preview').getAttribute('sandbox')).toBe('');
    await shot(page, engine, '10-email-preview');

    await page.goto('/admin/email/caught');
    await expect.poll(() => page.locator('section.mail h2').first().textContent()).toBe('Subject <b>not bold</b>');
    await expect.poll(() => page.frameLocator('iframe.preview').locator('#greeting').textContent()).toBe('Hello');
    await shot(page, engine, '11-caught-mail');
    expect(dialogs).toEqual([]);
    expect(errors).toEqual([]);
    await context.close();
  });

  it("Bull Board's promote: a parked grouped job's is refused with our message; promote all leaves it parked", async () => {
    const t = await setup({ engine, GROUP_CONCURRENCY: '1', ...(await dashboardOverrides()) });
    t.startWorker({ queues: { default: 2 }, settlers: [groupSettler(t.backend.groups)] });
    const add = async (body: unknown) => (await t.api('POST', '/v1/jobs', body)).body.id as string;
    const running = await add({ name: 'diagnostics.sleep', data: { ms: 60_000 }, options: { group: 'g' } });
    await waitFor(async () => (await t.engine.getJob(running))?.state === 'active', { timeoutMs: 20_000, what: 'g runs' });
    const parked = await add({ name: 'diagnostics.sleep', data: { ms: 10, tag: 'parked-in-g' }, options: { group: 'g' } });
    const plain = await add({ name: 'diagnostics.noop', data: {}, options: { delay: 600_000 } });

    const { page, context, errors } = await signIn(t, 'operator');
    await page.goto('/admin/board/queue/default?status=delayed');
    const card = (id: string) =>
      page
        .locator('div')
        .filter({ has: page.getByText(id, { exact: true }) })
        .filter({ has: page.locator(PROMOTE) })
        .last();
    await card(parked).waitFor({ timeout: 20_000 });
    await card(plain).waitFor();
    const dialog = page.getByRole('alertdialog').or(page.getByRole('dialog'));
    await card(parked).locator(PROMOTE).click();
    await dialog.getByRole('button', { name: 'Confirm' }).click();
    // Bull Board's toast shows our error: its code as the title, the message under it
    const toast = page.getByText(`job ${parked} is in group "g" of queue default`);
    await toast.waitFor();
    await page.getByText('grouped_job', { exact: true }).waitFor();
    await shot(page, engine, '12-board-promote-grouped-refused');

    await page.getByRole('button', { name: 'Promote all' }).click();
    await dialog.getByRole('button', { name: 'Confirm' }).click();
    await waitFor(async () => (await t.engine.getJob(plain))?.state === 'completed', { timeoutMs: 20_000, what: 'plain job ran' });
    await page.reload();
    await card(parked).waitFor({ timeout: 20_000 });
    expect(await page.getByText(plain, { exact: true }).count()).toBe(0);
    await shot(page, engine, '13-board-promote-all');
    expect((await t.api('GET', '/v1/queues/default/groups/g')).body).toMatchObject({ waiting: 1, active: 1 });
    expect(errors).toEqual([]);
    await context.close();
  });
});
