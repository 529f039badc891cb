// The Webhooks and HTTP kinds dashboard pages in a real browser (chromium via playwright-core), on each
// engine: subscriptions, a dead delivery replayed from the page and then delivered, an HTTP kind with its
// target and recent outcomes; everything user-given shown as text. Screenshots: test-artifacts/dashboard/<engine>/.
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it, onTestFinished } from 'vitest';
import { createOutbound } from '../core/outbound/index.ts';
import type { HandlerMap } from '../workers/catalog.ts';
import { handlers as diagnostics } from '../workers/diagnostics/handlers.ts';
import { httpHandlers } from '../workers/http/handler.ts';
import { deliverer } from '../workers/webhooks/handler.ts';
import { webhookSettler } from '../workers/webhooks/settler.ts';
import { launchChromium } from './browser.ts';
import { dashboardOverrides, PASSWORDS } from './dashboard-users.ts';
import { describeEngines, engineNames } from './engines.ts';
import { setup, waitFor } from './helpers.ts';

const SHOTS = 'test-artifacts/dashboard';
const secret = `whsec_${randomBytes(32).toString('base64')}`;
const EVIL = '<img src=x onerror="window.__pwned=1">';

let browser: Browser;
beforeAll(async () => {
  for (const engine of engineNames) mkdirSync(`${SHOTS}/${engine}`, { recursive: true });
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});

/** One server for both: /kind answers the HTTP kind's jobs, /hook the webhooks (500 until `up`). */
async function server() {
  const state = { up: false, hooks: 0 };
  const srv = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (req.url === '/kind') return res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
      if (!state.up) return res.writeHead(500).end('down');
      state.hooks++;
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;
  onTestFinished(() => {
    srv.closeAllConnections();
    srv.close();
  });
  return { state, kindUrl: `${base}/kind`, hookUrl: `${base}/hook` };
}

describeEngines('webhook and HTTP kind pages in a browser', { timeout: 90_000 }, (engine) => {
  it('shows subscriptions, a dead delivery replayed from the page, and an HTTP kind with its recent outcomes', async () => {
    const t = await setup({
      engine,
      ...(await dashboardOverrides()),
      HTTP_TARGET_ALLOWLIST: '127.0.0.1',
      SIGNING_SECRET: secret,
      WEBHOOK_ATTEMPTS: '2',
      WEBHOOK_RETRY_BASE_MS: '20',
    });
    const srv = await server();
    const out = await createOutbound(t.config);
    const handlers = { ...diagnostics, 'webhooks.deliver': deliverer(out, t.config, t.backend.engine) } as HandlerMap;
    t.startWorker({
      handlers,
      declared: httpHandlers(out),
      queues: { default: 5, webhooks: 5, http: 5 },
      settlers: [webhookSettler(t.backend, t.config)],
    });
    const kind = `test.pdf-${randomBytes(3).toString('hex')}`;
    expect((await t.api('PUT', `/v1/kinds/${kind}`, { url: srv.kindUrl, description: EVIL })).status).toBe(201);
    expect((await t.api('POST', '/v1/webhooks', { url: srv.hookUrl, kinds: [kind], description: EVIL })).status).toBe(201);
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) ids.push((await t.api('POST', '/v1/jobs', { name: kind, data: {} })).body.id);
    // both deliveries die (the receiver answers 500 twice each)
    await waitFor(async () => ((await t.engine.listDeadLetters(['webhooks'], 10)).length === 2 ? true : undefined), {
      what: 'two dead deliveries',
      timeoutMs: 30_000,
    });

    const context = await browser.newContext({ baseURL: t.baseUrl });
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    await page.goto('/admin/login');
    await page.fill('input[name=user]', 'operator');
    await page.fill('input[name=password]', PASSWORDS.operator);
    await page.click('button[type=submit]');
    await page.waitForURL((u) => u.pathname === '/admin');

    await page.click('a[href="/admin/kinds"]');
    const kindRow = page.locator(`#http-kinds tr[data-kind="${kind}"]`);
    await expect.poll(() => kindRow.locator('td').nth(2).textContent()).toBe(srv.kindUrl);
    expect(await kindRow.locator('td').nth(6).textContent()).toBe('completed 2');
    expect(await kindRow.textContent()).toContain(EVIL);
    await page.screenshot({ path: `${SHOTS}/${engine}/30-http-kinds.png`, fullPage: true });

    await page.click('a[href="/admin/webhooks"]');
    expect(await page.locator('#webhook-subscriptions tbody tr').count()).toBe(1);
    expect(await page.locator('#webhook-subscriptions').textContent()).toContain(EVIL);
    const dead = page.locator('#webhook-dead tbody tr');
    expect(await dead.count()).toBe(2);
    expect(await dead.first().textContent()).toContain('job.completed');
    await page.screenshot({ path: `${SHOTS}/${engine}/31-webhooks-dead.png`, fullPage: true });

    srv.state.up = true;
    const first = await dead.first().getAttribute('data-id');
    await dead.first().locator('button', { hasText: 'Replay' }).click();
    await page.getByText(`replayed ${first}`).waitFor();
    await waitFor(async () => ((await t.engine.getJob(String(first)))?.state === 'completed' ? true : undefined), {
      what: 'the replayed delivery delivered',
    });
    expect(srv.state.hooks).toBe(1);
    await page.goto('/admin/webhooks');
    expect(await page.locator('#webhook-dead tbody tr').count()).toBe(1);
    expect(await page.locator(`#webhook-recent tr[data-id="${first}"]`).getAttribute('data-state')).toBe('completed');
    expect(await page.locator('img').count()).toBe(0);
    expect(await page.evaluate('globalThis.__pwned')).toBeUndefined();
    await page.screenshot({ path: `${SHOTS}/${engine}/32-webhooks-replayed.png`, fullPage: true });
    await context.close();
  });
});
