// email.send end to end on each engine: HTTP enqueue → worker → a real SMTP server (smtp-server) → parsed with mailparser.
import { expect, it } from 'vitest';
import { groupSettler } from '../core/groups/settle.ts';
import { handlers as defaultHandlers } from '../workers/diagnostics/handlers.ts';
import { createEmailHandlers } from '../workers/email/handlers.ts';
import { startWorkers } from '../workers/runtime.ts';
import { handlerDeps, headerText, startTestSmtp } from './email-helpers.ts';
import { describeEngines } from './engines.ts';
import { type EngineName, quietLogger, setup, waitFor } from './helpers.ts';

const WAIT = { timeoutMs: 20_000 };

async function platform(engine: EngineName, smtpUrl: string, extra: Record<string, string> = {}) {
  return setup({
    engine,
    SMTP_URL: smtpUrl,
    EMAIL_FROM: 'Acme <no-reply@acme.test>',
    EMAIL_REPLY_TO: 'support@acme.test',
    EMAIL_UNSUBSCRIBE_URL: 'https://acme.test/unsubscribe',
    ...extra,
  });
}

type T = Awaited<ReturnType<typeof platform>>;

async function enqueue(t: T, data: unknown, options?: unknown) {
  const res = await t.api('POST', '/v1/jobs', { name: 'email.send', data, options });
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  return res.body.id as string;
}

const jobIn = (t: T, id: string, states: string[]) =>
  waitFor(
    async () => {
      const j = await t.api('GET', `/v1/jobs/${encodeURIComponent(id)}`);
      return states.includes(j.body.state) && j.body;
    },
    { ...WAIT, what: `job ${id} in ${states.join('|')}` },
  );

async function emailWorker(t: T, opts: Parameters<typeof createEmailHandlers>[1] = {}) {
  const set = await createEmailHandlers(handlerDeps(t.config, t.backend), opts);
  t.startWorker({ handlers: { ...defaultHandlers, ...set.handlers }, queues: { email: 4 } });
  return set;
}

describeEngines('email.send over real SMTP', (engine) => {
  it('sends HTML and text parts with escaped vars and the configured headers', async () => {
    const smtp = await startTestSmtp();
    const t = await platform(engine, smtp.url);
    const set = await emailWorker(t);
    try {
      const id = await enqueue(t, {
        to: 'ada@example.test',
        template: 'welcome',
        vars: { name: '<script>alert("x")</script> Ada', loginUrl: 'https://app.acme.test/login?a=1&b=2' },
      });
      const digestId = await enqueue(t, {
        to: ['ops@example.test', 'oncall@example.test'],
        template: 'dead-letter-digest',
        category: 'digest',
        replyTo: 'ops-team@acme.test',
        vars: { queues: [{ queue: 'email', count: 2, oldest: '2026-11-20T08:15:00Z' }], dashboardUrl: 'http://127.0.0.1:3000/dashboard' },
      });
      await waitFor(() => smtp.messages.length >= 2, { ...WAIT, what: 'two messages' });
      const welcome = smtp.messages.find((m) => m.subject?.startsWith('Welcome'));
      const digest = smtp.messages.find((m) => m.subject?.startsWith('Dead letters'));
      if (!welcome || !digest) throw new Error(`unexpected subjects: ${smtp.messages.map((m) => m.subject).join(', ')}`);

      // both MIME parts
      expect(welcome.html).toBeTypeOf('string');
      expect(welcome.text).toContain('Hello <script>alert("x")</script> Ada,');
      expect(welcome.text).toContain('https://app.acme.test/login?a=1&b=2');
      // the script tag arrives escaped in the HTML part, never as markup
      expect(welcome.html).not.toContain('<script>');
      expect(welcome.html).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; Ada');
      expect(welcome.html).toContain('href="https://app.acme.test/login?a=1&amp;b=2"');
      expect(welcome.subject).toBe('Welcome to Conveyor, <script>alert("x")</script> Ada');

      // headers
      expect(welcome.from?.value).toEqual([{ address: 'no-reply@acme.test', name: 'Acme' }]);
      expect(welcome.replyTo?.value[0]?.address).toBe('support@acme.test');
      expect(headerText(welcome, 'list-unsubscribe')).toBeUndefined(); // transactional
      expect(welcome.messageId).toBe(`<${id}@acme.test>`);
      expect(headerText(welcome, 'x-conveyor-job-id')).toBe(id);

      expect(digest.to && !Array.isArray(digest.to) ? digest.to.value.map((a) => a.address) : []).toEqual([
        'ops@example.test',
        'oncall@example.test',
      ]);
      expect(digest.replyTo?.value[0]?.address).toBe('ops-team@acme.test');
      expect(headerText(digest, 'list-unsubscribe')).toBe('<https://acme.test/unsubscribe>');
      expect(headerText(digest, 'list-unsubscribe-post')).toBe('List-Unsubscribe=One-Click');
      expect(digest.text).toContain('- email: 2 (oldest 20 Nov 2026, 08:15 UTC)');

      const done = await jobIn(t, id, ['completed']);
      expect(done.result).toMatchObject({ messageId: `<${id}@acme.test>`, accepted: ['ada@example.test'], alreadySent: false });
      await jobIn(t, digestId, ['completed']);

      // readiness verifies the SMTP server
      const ready = await t.api('GET', '/readyz', undefined, { key: null });
      expect(ready.body.checks.smtp).toBe('up');
    } finally {
      await set.close();
    }
  });

  it('never sends twice: a job that fails right after SMTP accepted is retried without a second send', async () => {
    const smtp = await startTestSmtp();
    const t = await platform(engine, smtp.url);
    const set = await emailWorker(t, {
      afterSend: (ctx) => {
        if (ctx.attempt === 1) throw new Error('simulated crash after the send');
      },
    });
    try {
      const id = await enqueue(
        t,
        {
          to: 'once@example.test',
          template: 'password-reset',
          vars: { name: 'Ada', resetUrl: 'https://acme.test/r?t=1', expiresInMinutes: 30 },
        },
        { idempotencyKey: `reset-${Date.now()}` },
      );
      const done = await jobIn(t, id, ['completed', 'dead', 'failed']);
      expect(done.state).toBe('completed');
      expect(done.attempts.made).toBe(2);
      expect(done.result).toMatchObject({ alreadySent: true, attempt: 1, accepted: ['once@example.test'] });
      expect(smtp.messages).toHaveLength(1);
      expect(smtp.rcptCounts.get('once@example.test')).toBe(1);
    } finally {
      await set.close();
    }
  });

  it('dead-letters a 5xx (bad recipient) at once and retries a 4xx until it is accepted', async () => {
    const smtp = await startTestSmtp({
      onRcptTo: (address, n) => (address.startsWith('bounce@') ? 550 : address.startsWith('greylist@') && n === 1 ? 451 : undefined),
    });
    const t = await platform(engine, smtp.url);
    const set = await emailWorker(t);
    try {
      const vars = { reportName: 'Orders', url: 'https://acme.test/d/1', expiresAt: '2026-12-01T00:00:00Z' };
      const bounce = await enqueue(t, { to: 'bounce@example.test', template: 'report-ready', vars });
      const grey = await enqueue(t, { to: 'greylist@example.test', template: 'report-ready', vars });

      const dead = await jobIn(t, bounce, ['dead', 'completed']);
      expect(dead.state).toBe('dead');
      expect(dead.attempts.made).toBe(1);
      const letters = await t.api('GET', '/v1/dead-letters?queue=email');
      const letter = letters.body.deadLetters.find((d: { id: string }) => d.id === bounce);
      expect(letter?.reason).toMatch(/permanent error: SMTP refused the message: RCPT TO 550/);

      const sent = await jobIn(t, grey, ['completed', 'dead']);
      expect(sent.state).toBe('completed');
      expect(sent.attempts.made).toBe(2);
      expect(smtp.rcptCounts.get('greylist@example.test')).toBe(2);
      expect(smtp.messages.map((m) => m.subject)).toEqual(['Your report "Orders" is ready']);
    } finally {
      await set.close();
    }
  });

  it('answers a bad payload with 400 and the field path, before anything is queued', async () => {
    const t = await platform(engine, 'smtp://127.0.0.1:1');
    const cases: [unknown, string][] = [
      [{ to: 'a@b.test', template: 'welcome', vars: { loginUrl: 'https://x.test' } }, 'data.vars.name'],
      [{ to: 'a@b.test', template: 'welcome', vars: { name: 'A', loginUrl: 'javascript:alert(1)' } }, 'data.vars.loginUrl'],
      [
        { to: 'a@b.test', template: 'report-ready', vars: { reportName: 'R', url: 'https://x.test', expiresAt: 'tomorrow' } },
        'data.vars.expiresAt',
      ],
      [
        {
          to: 'a@b.test',
          template: 'dead-letter-digest',
          vars: { queues: [{ queue: 'q', count: -1, oldest: '2026-01-01T00:00:00Z' }], dashboardUrl: 'https://x.test' },
        },
        'data.vars.queues[0].count',
      ],
      [{ to: 'a@b.test', template: 'no-such-template', vars: {} }, 'data.template'],
      [{ to: 'not-an-address', template: 'welcome', vars: { name: 'A', loginUrl: 'https://x.test' } }, 'data.to'],
      [{ to: 'a@b.test', template: 'welcome', vars: { name: 'A', loginUrl: 'https://x.test' }, category: 'spam' }, 'data.category'],
    ];
    for (const [data, path] of cases) {
      const res = await t.api('POST', '/v1/jobs', { name: 'email.send', data });
      expect(res.status, JSON.stringify(data)).toBe(400);
      expect(res.body.error.code).toBe('invalid_request');
      expect(
        res.body.error.details.map((d: { path: string }) => d.path),
        JSON.stringify(res.body),
      ).toContain(path);
    }
    const [info] = (await t.api('GET', '/v1/queues')).body.queues.filter((q: { name: string }) => q.name === 'email');
    expect(info.counts.waiting + info.counts.delayed).toBe(0);
  });

  it('holds the email queue to its rate limit', async () => {
    const smtp = await startTestSmtp();
    const t = await platform(engine, smtp.url);
    const set = await createEmailHandlers(handlerDeps(t.config, t.backend));
    const rt = startWorkers({
      engine: t.engine,
      logger: quietLogger,
      handlers: set.handlers,
      queues: { email: 10 },
      rateLimits: { email: { max: 2, durationMs: 1000 } },
      // email is grouped by recipient domain: a worker frees group slots through this settler (docs/groups.md)
      settlers: [groupSettler(t.backend.groups)],
    });
    try {
      const ids: string[] = [];
      for (let i = 0; i < 6; i++) {
        ids.push(await enqueue(t, { to: `r${i}@example.test`, template: 'welcome', vars: { name: `R${i}`, loginUrl: 'https://x.test' } }));
      }
      await waitFor(() => smtp.messages.length >= 6, { ...WAIT, what: 'six messages' });
      // when each run started (the limit gates starts; sends also wait on rendering, the first one longest)
      const started = (await Promise.all(ids.map((id) => jobIn(t, id, ['completed']))))
        .map((j) => Date.parse(j.startedAt))
        .sort((a, b) => a - b);
      // 6 runs at 2 per fixed 1 s window need three windows, so at least one whole window lies between the
      // first start and the last: a lower bound only (unlimited, all six start within milliseconds).
      expect(started.at(-1)! - started[0]!).toBeGreaterThanOrEqual(1_000);
    } finally {
      await rt.close(1_000);
      await set.close();
    }
  });
});
