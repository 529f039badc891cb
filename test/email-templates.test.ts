// Every template compiles (strict MJML, includes off), matches its sample vars, and escapes what it fills in.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import mjml2html from 'mjml';
import { describe, expect, it, onTestFinished } from 'vitest';
import { templateDefinitions, templateDir, templateNames } from '../templates/index.ts';
import { emailSendPayload } from '../workers/email/kinds.ts';
import { compilePlaceholders, escapeHtml, noEscape, oneLine } from '../workers/email/placeholders.ts';
import { compileMjml, compileTemplates, renderEmail, renderPreview } from '../workers/email/templates.ts';

describe('email templates', () => {
  it('compiles every template strictly and renders it with its sample vars', async () => {
    expect(templateNames).toEqual(expect.arrayContaining(['welcome', 'password-reset', 'report-ready', 'dead-letter-digest']));
    for (const name of templateNames) {
      for (const f of ['template.mjml', 'subject.txt', 'text.txt', 'sample.json', 'vars.ts']) {
        expect(existsSync(new URL(f, templateDir(name))), `${name}/${f}`).toBe(true);
      }
    }
    const compiled = await compileTemplates();
    expect([...compiled.keys()].sort()).toEqual([...templateNames].sort());
    for (const [name, t] of compiled) {
      const vars = templateDefinitions[name].vars.parse(t.sample);
      const r = renderEmail(compiled, name, vars);
      expect(r.subject, name).not.toBe('');
      expect(r.subject, name).not.toMatch(/[\r\n]|\{\{/);
      expect(r.html, name).toMatch(/^<!doctype html>/i);
      expect(r.html, name).not.toContain('{{');
      expect(r.html, name).not.toMatch(/<mj-/);
      expect(r.text.trim(), name).not.toBe('');
      expect(r.text, name).not.toContain('{{');
    }
  });

  it('escapes vars in the HTML part (text, attributes) and keeps the text part as written', async () => {
    const compiled = await compileTemplates();
    const r = renderEmail(compiled, 'welcome', {
      name: '<script>alert(1)</script> & "Bob"',
      loginUrl: 'https://app.example.com/login?next="><script>x()</script>&a=1',
    });
    expect(r.html).not.toContain('<script>');
    expect(r.html).toContain('&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;Bob&quot;');
    expect(r.html).toContain('href="https://app.example.com/login?next=&quot;&gt;&lt;script&gt;x()&lt;/script&gt;&amp;a=1"');
    expect(r.text).toContain('Hello <script>alert(1)</script> & "Bob",');
    expect(r.subject).toBe('Welcome to Conveyor, <script>alert(1)</script> & "Bob"');
  });

  it('repeats list sections and renders the empty branch for an empty list', async () => {
    const compiled = await compileTemplates();
    const vars = {
      queues: [
        { queue: 'email', count: 3, oldest: '2026-11-20T08:15:00Z' },
        { queue: '<b>x</b>', count: 4, oldest: '2026-11-21T02:00:00Z' },
      ],
      dashboardUrl: 'http://127.0.0.1:3000/dashboard',
    };
    const r = renderEmail(compiled, 'dead-letter-digest', vars);
    expect(r.subject).toBe('Dead letters: 7 job(s) need attention');
    expect(r.text).toContain('- email: 3 (oldest 20 Nov 2026, 08:15 UTC)\n- <b>x</b>: 4');
    expect(r.html).toContain('<td>&lt;b&gt;x&lt;/b&gt;</td>');
    expect(r.html).not.toContain('No queue has dead letters.');
    const empty = renderEmail(compiled, 'dead-letter-digest', { ...vars, queues: [] });
    expect(empty.html).toContain('No queue has dead letters.');
    expect(empty.text).toContain('No queue has dead letters.');
  });

  it('rejects bad MJML at compile time (strict validation)', async () => {
    await expect(
      compileMjml('<mjml><mj-body><mj-section><mj-column><mj-bogus /></mj-column></mj-section></mj-body></mjml>', 'bad'),
    ).rejects.toThrow(/mj-bogus/);
    await expect(
      compileMjml(
        '<mjml><mj-body><mj-section><mj-column><mj-text padding="banana">x</mj-text></mj-column></mj-section></mj-body></mjml>',
        'bad',
      ),
    ).rejects.toThrow(/padding/);
  });

  it('ignores mj-include (a template cannot pull in files)', async () => {
    // under the working directory, which is where compileMjml would resolve a relative include from
    const dir = mkdtempSync(join(process.cwd(), '.cvt-mjml-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, 'part.mjml'), '<mj-text>INCLUDED-SECRET-42</mj-text>');
    const src = `<mjml><mj-body><mj-section><mj-column><mj-include path="./${basename(dir)}/part.mjml" /><mj-text>own</mj-text></mj-column></mj-section></mj-body></mjml>`;
    // control: with includes on, mjml would read the file
    const withIncludes = await mjml2html(src, { ignoreIncludes: false, filePath: process.cwd(), validationLevel: 'soft' });
    expect(withIncludes.html).toContain('INCLUDED-SECRET-42');
    const ours = await compileMjml(src, 'include-test');
    expect(ours).toContain('own');
    expect(ours).not.toContain('INCLUDED-SECRET-42');
  });

  it('fills placeholders without ever interpreting values', () => {
    const f = compilePlaceholders('<p title="{{a}}">{{a}} {{#items}}[{{n}}]{{/items}}{{^items}}none{{/items}}</p>', escapeHtml);
    expect(f({ a: '{{b}}<i>', b: 'NO', items: [{ n: 1 }, { n: '<2>' }] })).toBe(
      '<p title="{{b}}&lt;i&gt;">{{b}}&lt;i&gt; [1][&lt;2&gt;]</p>',
    );
    expect(f({ a: 'x', items: [] })).toBe('<p title="x">x none</p>');
    expect(() => f({ items: [] }, { strict: true })).toThrow(/no value for \{\{a\}\}/);
    expect(compilePlaceholders('{{s}}', oneLine)({ s: 'a\r\nBcc: evil@x.test' })).toBe('a Bcc: evil@x.test');
    expect(compilePlaceholders('{{s}}', noEscape)({ s: '<b>' })).toBe('<b>');
    expect(() => compilePlaceholders('{{#a}}x', escapeHtml)).toThrow(/never closed/);
    expect(() => compilePlaceholders('{{#a}}x{{/b}}', escapeHtml)).toThrow(/closes/);
    expect(() => compilePlaceholders('x {{ bad name }}', escapeHtml)).toThrow(/malformed/);
  });

  it('validates vars with the template’s own schema (paths name the field)', async () => {
    const bad = emailSendPayload.safeParse({ to: 'a@b.test', template: 'welcome', vars: { loginUrl: 'javascript:alert(1)' } });
    expect(bad.success).toBe(false);
    const paths = bad.error?.issues.map((i) => i.path.join('.'));
    expect(paths).toEqual(expect.arrayContaining(['vars.name', 'vars.loginUrl']));
    const unknown = emailSendPayload.safeParse({ to: 'a@b.test', template: 'nope', vars: {} });
    expect(unknown.error?.issues[0]?.path).toEqual(['template']);
    expect(unknown.error?.issues[0]?.message).toContain('report-ready');
    const ok = emailSendPayload.parse({
      to: ['a@b.test', 'c@d.test'],
      template: 'report-ready',
      vars: { reportName: 'Orders', url: 'https://x.test/r', expiresAt: '2026-12-01T00:00:00Z' },
    });
    expect(ok.category).toBe('transactional');
    const preview = await renderPreview('password-reset', { name: 'Zoë', resetUrl: 'https://x.test/r?t=1', expiresInMinutes: 15 });
    expect(preview.ok && preview.rendered.text).toContain('15 minutes');
    const badPreview = await renderPreview('password-reset', { name: 'Zoë' });
    expect(badPreview.ok).toBe(false);
  });
});
