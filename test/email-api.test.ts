// The development mail catcher (no SMTP_URL) and the mail and template routes, on each engine (the send
// ledger's contract: test/stores-contract.test.ts).
import { expect, it, onTestFinished } from 'vitest';
import { handlers as defaultHandlers } from '../workers/diagnostics/handlers.ts';
import { createEmailHandlers } from '../workers/email/handlers.ts';
import { handlerDeps } from './email-helpers.ts';
import { describeEngines } from './engines.ts';
import { setup, waitFor } from './helpers.ts';

const WAIT = { timeoutMs: 20_000 };

describeEngines('mail catcher and email routes', (engine) => {
  it('catches mail without SMTP_URL and serves it over the API', async () => {
    const t = await setup({ engine, EMAIL_CATCHER_PORT: '0', EMAIL_FROM: 'Dev <dev@conveyor.test>' });
    const set = await createEmailHandlers(handlerDeps(t.config, t.backend));
    onTestFinished(() => set.close());
    t.startWorker({ handlers: { ...defaultHandlers, ...set.handlers }, queues: { email: 2 } });

    const res = await t.api('POST', '/v1/jobs', {
      name: 'email.send',
      data: {
        to: 'dev@example.test',
        template: 'welcome',
        category: 'notification',
        vars: { name: '<img src=x onerror=alert(1)>', loginUrl: 'https://x.test/l' },
      },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    const list = await waitFor(
      async () => {
        const r = await t.api('GET', '/v1/mail');
        return r.body.mail?.length > 0 && r.body;
      },
      { ...WAIT, what: 'caught mail' },
    );
    expect(list.catcher).toBe(true);
    expect(list.mail[0]).toMatchObject({ to: 'dev@example.test', from: '"Dev" <dev@conveyor.test>' });
    expect(list.mail[0].subject).toBe('Welcome to Conveyor, <img src=x onerror=alert(1)>');

    const one = await t.api('GET', `/v1/mail/${list.mail[0].id}`);
    expect(one.status).toBe(200);
    expect(one.body.html).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(one.body.html).not.toContain('<img src=x');
    expect(one.body.text).toContain('Hello <img src=x onerror=alert(1)>,');
    const names = one.body.headers.map((h: { name: string }) => h.name.toLowerCase());
    expect(names).toEqual(expect.arrayContaining(['from', 'to', 'subject', 'message-id', 'list-unsubscribe', 'content-type']));
    expect(one.body.envelope).toEqual({ from: 'dev@conveyor.test', to: ['dev@example.test'] });

    expect((await t.api('GET', '/v1/mail/nope')).status).toBe(404);
    expect((await t.api('GET', '/v1/mail?limit=0')).body.error.details[0].path).toBe('limit');
    expect((await t.api('GET', '/v1/mail', undefined, { key: null })).status).toBe(401);
    expect((await t.api('GET', '/v1/mail', undefined, { key: t.keys.noopOnly })).status).toBe(403);
    // a key that may enqueue any kind may preview templates, but not read caught mail
    expect((await t.api('GET', '/v1/mail', undefined, { key: t.keys.limited })).status).toBe(403);
  });

  it('lists templates and renders previews with sample or given vars', async () => {
    const t = await setup({ engine });
    const list = await t.api('GET', '/v1/templates');
    expect(list.status).toBe(200);
    const names = list.body.templates.map((x: { name: string }) => x.name);
    expect(names).toEqual(expect.arrayContaining(['welcome', 'password-reset', 'report-ready', 'dead-letter-digest']));
    const rr = list.body.templates.find((x: { name: string }) => x.name === 'report-ready');
    expect(rr.vars.required).toEqual(['reportName', 'url', 'expiresAt']);
    expect(rr.subject).toBe('Your report "Orders by region" is ready');

    const preview = await t.api('GET', '/v1/templates/report-ready/preview');
    expect(preview.status).toBe(200);
    expect(preview.body.subject).toBe('Your report "Orders by region" is ready');
    expect(preview.body.html).toMatch(/^<!doctype html>/i);
    expect(preview.body.text).toContain('26 Dec 2026, 00:00 UTC');

    const html = await fetch(`${t.baseUrl}/v1/templates/welcome/preview?format=html`, {
      headers: { authorization: `Bearer ${t.keys.admin}` },
    });
    expect(html.headers.get('content-type')).toMatch(/^text\/html/);
    expect(html.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(await html.text()).toContain('Welcome, Ada Lovelace');

    const custom = await t.api('POST', '/v1/templates/password-reset/preview', {
      vars: { name: '<b>Zoë</b>', resetUrl: 'https://x.test/r', expiresInMinutes: 5 },
    });
    expect(custom.status).toBe(200);
    expect(custom.body.html).toContain('&lt;b&gt;Zoë&lt;/b&gt;');
    const bad = await t.api('POST', '/v1/templates/password-reset/preview', {
      vars: { resetUrl: 'https://x.test/r', expiresInMinutes: 5 },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details.map((d: { path: string }) => d.path)).toContain('vars.name');
    expect((await t.api('GET', '/v1/templates/nope/preview')).status).toBe(404);
    expect((await t.api('GET', '/v1/templates', undefined, { key: null })).status).toBe(401);
    expect((await t.api('GET', '/v1/templates', undefined, { key: t.keys.noopOnly })).status).toBe(403);
    expect((await t.api('GET', '/v1/templates', undefined, { key: t.keys.limited })).status).toBe(200);
  });
});
