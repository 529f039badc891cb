// Links in emails are http(s) or mailto (issue 12, deliverable 6), on both engines, through the API, the
// worker and a real SMTP server: every string var of every template is tried with `javascript:`, `data:`,
// mailto header injections and markup. A var that may not hold it is a 400 naming it at enqueue; one that may arrives as text, so
// every href/src in the HTML part that reached the mailbox is http(s) or mailto, and no tag carries an
// event handler or a script.
import { expect, it } from 'vitest';
import { templateNames } from '../templates/index.ts';
import { handlers as defaultHandlers } from '../workers/diagnostics/handlers.ts';
import { createEmailHandlers } from '../workers/email/handlers.ts';
import { compileTemplates } from '../workers/email/templates.ts';
import { handlerDeps, startTestSmtp } from './email-helpers.ts';
import { describeEngines } from './engines.ts';
import { setup, waitFor } from './helpers.ts';

/** the href of the message's first <a>, decoded */
const firstHref = (html: string) => linkAttributes(html)[0];

const HOSTILE = [
  'javascript:alert(1)',
  'JavaScript:alert(document.domain)',
  ' javascript:alert(1)',
  'java\tscript:alert(1)',
  'data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==',
  'vbscript:msgbox(1)',
  '"><a href="javascript:alert(1)">x</a><img src=x onerror=alert(1)>',
  'mailto:ada@example.test%0D%0ABcc:eve@evil.test',
  'mailto:ada@example.test?subject=hi%0ABcc:eve@evil.test',
  'mailto:ada@example.test\r\nBcc: eve@evil.test',
  'mailto:javascript:alert(1)',
  'mailto:ada@example.test?X-Mailer=evil',
];

/** mailto: links a link var takes (RFC 6068, no header but subject/body/cc/bcc, line breaks only in the body) */
const MAILTO = [
  'mailto:help@acme.test',
  'mailto:help@acme.test?subject=Sign%20in%20help&body=Hello%2C%0D%0AI%20cannot%20sign%20in.',
  'mailto:help@acme.test,ops@acme.test?cc=lead@acme.test',
];

type Path = (string | number)[];

/** every string leaf of `v`, as a path */
function stringLeaves(v: unknown, path: Path = []): Path[] {
  if (typeof v === 'string') return [path];
  if (Array.isArray(v)) return v.flatMap((x, i) => stringLeaves(x, [...path, i]));
  if (v && typeof v === 'object') return Object.entries(v).flatMap(([k, x]) => stringLeaves(x, [...path, k]));
  return [];
}

function withValue(sample: unknown, path: Path, value: string): Record<string, unknown> {
  const copy = structuredClone(sample) as Record<string, unknown>;
  let node: any = copy;
  for (const k of path.slice(0, -1)) node = node[k];
  node[path[path.length - 1] as string | number] = value;
  return copy;
}

const decodeEntities = (s: string) =>
  s
    .replace(/&#x([0-9a-f]+);?/gi, (_, h) => String.fromCodePoint(Number.parseInt(h, 16)))
    .replace(/&#(\d+);?/g, (_, d) => String.fromCodePoint(Number(d)))
    .replace(/&quot;/g, '"')
    .replace(/&apos;|&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');

/** the URL-bearing attributes of an HTML document, decoded as a browser reads them */
function linkAttributes(html: string): string[] {
  const out: string[] = [];
  for (const m of html.matchAll(/<[a-z][^>]*>/gi)) {
    for (const a of m[0].matchAll(/\s(href|src|action|formaction|background|xlink:href)\s*=\s*("([^"]*)"|'([^']*)'|([^\s>]+))/gi)) {
      out.push(decodeEntities(a[3] ?? a[4] ?? a[5] ?? ''));
    }
  }
  return out;
}

/** what a browser would take as the scheme: control characters and whitespace dropped, lower case */
const schemeOf = (url: string) => {
  const squeezed = [...url].filter((c) => c.charCodeAt(0) > 0x20 && c.charCodeAt(0) !== 0x7f).join('');
  return /^([a-z][a-z0-9+.-]*):/i.exec(squeezed)?.[1]?.toLowerCase() ?? null;
};

/** `queues[0].oldest`, as error details name a field */
const fieldOf = (path: Path) => path.map((k, i) => (typeof k === 'number' ? `[${k}]` : i === 0 ? k : `.${k}`)).join('');

describeEngines('links in emails', { timeout: 90_000 }, (engine) => {
  it('every string var of every template: javascript:/data: links refused at enqueue or inert in the mail delivered; only http(s)/mailto hrefs', async () => {
    const smtp = await startTestSmtp();
    const t = await setup({
      engine,
      SMTP_URL: smtp.url,
      EMAIL_FROM: 'Acme <no-reply@acme.test>',
      EMAIL_RATE_PER_SECOND: '1000',
      API_RATE_LIMIT_RPS: '10000',
    });
    const set = await createEmailHandlers(handlerDeps(t.config, t.backend), {});
    t.startWorker({ handlers: { ...defaultHandlers, ...set.handlers }, queues: { email: 8 } });
    try {
      const compiled = await compileTemplates();
      let refused = 0;
      const accepted: string[] = [];
      for (const template of templateNames) {
        const sample = compiled.get(template)?.sample;
        const leaves = stringLeaves(sample);
        expect(leaves.length, template).toBeGreaterThan(0);
        for (const leaf of leaves) {
          for (const value of HOSTILE) {
            const vars = withValue(sample, leaf, value);
            const r = await t.api('POST', '/v1/jobs', { name: 'email.send', data: { to: 'ada@example.test', template, vars } });
            const what = `${template} vars.${fieldOf(leaf)} = ${JSON.stringify(value)}: ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`;
            expect([202, 400], what).toContain(r.status);
            if (r.status === 400) {
              expect(r.body.error.details.map((d: { path: string }) => d.path).join(' '), what).toContain(`vars.${fieldOf(leaf)}`);
              refused++;
            } else accepted.push(r.body.id);
          }
        }
        // the link vars themselves are among the refused: an email link is never javascript: or data:
      }
      expect(refused).toBeGreaterThan(0);
      expect(accepted.length).toBeGreaterThan(0);
      await waitFor(() => smtp.messages.length >= accepted.length, { timeoutMs: 60_000, what: `${accepted.length} messages delivered` });
      let links = 0;
      for (const m of smtp.messages) {
        const html = String(m.html || '');
        expect(html, m.subject).not.toMatch(/<script/i);
        expect(html, m.subject).not.toMatch(/<[a-z][^>]*\son[a-z]+\s*=/i);
        for (const url of linkAttributes(html)) {
          links++;
          expect(['http', 'https', 'mailto'], `${m.subject}: ${url}`).toContain(schemeOf(url));
        }
      }
      expect(links).toBeGreaterThan(0);
    } finally {
      await set.close();
    }
  });
  it('a link var takes a mailto: URI, delivered as that href (escaped); mailto header injections are refused naming the var', async () => {
    const smtp = await startTestSmtp();
    const t = await setup({
      engine,
      SMTP_URL: smtp.url,
      EMAIL_FROM: 'Acme <no-reply@acme.test>',
      EMAIL_RATE_PER_SECOND: '1000',
      API_RATE_LIMIT_RPS: '10000',
    });
    const set = await createEmailHandlers(handlerDeps(t.config, t.backend), {});
    t.startWorker({ handlers: { ...defaultHandlers, ...set.handlers }, queues: { email: 8 } });
    try {
      for (const bad of HOSTILE.filter((v) => v.startsWith('mailto:'))) {
        const r = await t.api('POST', '/v1/jobs', {
          name: 'email.send',
          data: { to: 'ada@example.test', template: 'welcome', vars: { name: 'Ada', loginUrl: bad } },
        });
        expect(r.status, bad).toBe(400);
        expect(
          r.body.error.details.map((d: { path: string }) => d.path),
          bad,
        ).toContain('data.vars.loginUrl');
      }
      for (const [i, loginUrl] of MAILTO.entries()) {
        const r = await t.api('POST', '/v1/jobs', {
          name: 'email.send',
          data: { to: 'ada@example.test', template: 'welcome', vars: { name: `Ada ${i}`, loginUrl } },
        });
        expect(r.status, loginUrl).toBe(202);
      }
      await waitFor(() => smtp.messages.length >= MAILTO.length, { timeoutMs: 30_000, what: `${MAILTO.length} messages delivered` });
      const hrefs = smtp.messages.map((m) => firstHref(String(m.html || '')));
      expect(hrefs.sort()).toEqual([...MAILTO].sort());
      for (const m of smtp.messages) expect(String(m.html), m.subject).toMatch(/href="mailto:[^"<>]*"/);
      // the body's %0D%0A stays escaped in the href: no raw line break reaches the message
      for (const m of smtp.messages) expect(String(m.html).match(/href="mailto:[^"]*"/)?.[0], m.subject).not.toMatch(/[\r\n]/);
    } finally {
      await set.close();
    }
  });
});
