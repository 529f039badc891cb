// email.send on every engine (test/engines.ts): the send ledger and the caught-mail store live in the
// engine's store (Redis for bullmq, Postgres for pgboss), so no-double-send, 5xx → dead letter,
// 4xx → retry, the rate limit and the catcher must hold on each.
import { describe, expect, it, onTestFinished } from 'vitest';
import type { Engine, JobView } from '../core/engine.ts';
import { type JobOptions, toEnqueueRequest, validateJob } from '../producers/enqueue.ts';
import type { PayloadInput } from '../workers/catalog.ts';
import { caughtMailStore, listCaughtMail } from '../workers/email/caught-mail.ts';
import { createEmailHandlers, type EmailHandlerOptions } from '../workers/email/handlers.ts';
import { startWorkers } from '../workers/runtime.ts';
import { handlerDeps, startTestSmtp } from './email-helpers.ts';
import { engineFactories } from './engines.ts';
import { quietLogger, testConfig, waitFor } from './helpers.ts';

const WAIT = 20_000;

function request(data: PayloadInput<'email.send'>, options: JobOptions = {}) {
  const v = validateJob({ name: 'email.send', data, options });
  if (!v.ok) throw new Error(`bad test job: ${JSON.stringify(v.details)}`);
  return toEnqueueRequest(v.job, testConfig(), {}, Date.now());
}

const vars = { reportName: 'Orders', url: 'https://acme.test/d/1', expiresAt: '2026-12-01T00:00:00Z' };

for (const factory of engineFactories) {
  describe(`email.send on ${factory.name}`, async () => {
    const why = await factory.unavailable?.();
    if (why) {
      console.warn(`email engine tests for ${factory.name} skipped: ${why}`);
      it.skip(`${factory.name} unavailable: ${why}`, () => {});
      return;
    }

    async function platform(env: Record<string, string>, opts: EmailHandlerOptions = {}, rateLimit?: { max: number; durationMs: number }) {
      const made = await factory.create();
      onTestFinished(() => made.cleanup());
      const engine: Engine = made.engine;
      const config = testConfig({ EMAIL_FROM: 'Acme <no-reply@acme.test>', ...env });
      const set = await createEmailHandlers(handlerDeps(config, made.backend), opts);
      const rt = startWorkers({
        engine,
        logger: quietLogger,
        handlers: set.handlers,
        queues: { email: 5 },
        rateLimits: rateLimit ? { email: rateLimit } : undefined,
      });
      onTestFinished(async () => {
        await rt.close(2_000);
        await set.close();
      });
      return { engine, backend: made.backend };
    }

    const state = (engine: Engine, id: string, wanted: JobView['state'][]) =>
      waitFor(
        async () => {
          const j = await engine.getJob(id);
          return j && wanted.includes(j.state) ? j : false;
        },
        { timeoutMs: WAIT, what: `job ${id} in ${wanted.join('|')}` },
      );

    it('sends once even when the job fails right after SMTP accepted', async () => {
      const smtp = await startTestSmtp();
      const { engine } = await platform(
        { SMTP_URL: smtp.url },
        {
          afterSend: (ctx) => {
            if (ctx.attempt === 1) throw new Error('simulated crash after the send');
          },
        },
      );
      const { job } = await engine.enqueue(request({ to: 'once@example.test', template: 'report-ready', vars }, { idempotencyKey: 'k1' }));
      const done = await state(engine, job.id, ['completed', 'dead', 'failed']);
      expect(done.state).toBe('completed');
      expect(done.attempts.made).toBe(2);
      expect(done.result).toMatchObject({ alreadySent: true, attempt: 1 });
      expect(smtp.messages).toHaveLength(1);
      expect(smtp.messages[0]?.text).toContain('Your report "Orders" is ready.');
    });

    it('dead-letters a 5xx at once and retries a 4xx', async () => {
      const smtp = await startTestSmtp({
        onRcptTo: (a, n) => (a.startsWith('bounce@') ? 550 : a.startsWith('greylist@') && n === 1 ? 451 : undefined),
      });
      const { engine } = await platform({ SMTP_URL: smtp.url });
      const bounce = (await engine.enqueue(request({ to: 'bounce@example.test', template: 'report-ready', vars }))).job.id;
      const grey = (await engine.enqueue(request({ to: 'greylist@example.test', template: 'report-ready', vars }))).job.id;
      const dead = await state(engine, bounce, ['dead', 'completed']);
      expect(dead.state).toBe('dead');
      expect(dead.attempts.made).toBe(1);
      const sent = await state(engine, grey, ['completed', 'dead']);
      expect(sent.attempts.made).toBe(2);
      expect(smtp.messages).toHaveLength(1);
    });

    it('keeps to EMAIL_RATE_PER_SECOND', async () => {
      const smtp = await startTestSmtp();
      // both engines enforce it in the queue, across worker processes (the runtime's rateLimits)
      const { engine } = await platform({ SMTP_URL: smtp.url, EMAIL_RATE_PER_SECOND: '2' }, {}, { max: 2, durationMs: 1000 });
      const arrivals: number[] = [];
      for (let i = 0; i < 6; i++) await engine.enqueue(request({ to: `r${i}@example.test`, template: 'report-ready', vars }));
      await waitFor(
        () => {
          while (arrivals.length < smtp.messages.length) arrivals.push(Date.now());
          return smtp.messages.length >= 6;
        },
        { timeoutMs: WAIT, intervalMs: 10, what: 'six messages' },
      );
      // 6 at 2 per fixed 1 s window need three windows: at least one whole window lies between the first
      // start and the last. Arrivals are seen by polling and SMTP delivery times vary, so the bound keeps
      // 250 ms of slack; unlimited, the six arrive within a few tens of ms (a lower bound only)
      expect((arrivals.at(-1) as number) - (arrivals[0] as number)).toBeGreaterThanOrEqual(750);
    });

    it('catches mail without SMTP_URL in the engine’s store', async () => {
      const { engine, backend } = await platform({ EMAIL_CATCHER_PORT: '0' });
      const { job } = await engine.enqueue(request({ to: 'dev@example.test', template: 'report-ready', vars }));
      await state(engine, job.id, ['completed']);
      const store = caughtMailStore(backend);
      const list = await listCaughtMail(store, 10);
      expect(list.map((m) => m.subject)).toEqual(['Your report "Orders" is ready']);
      const mail = await store.get(list[0]?.id as string);
      expect(mail?.html).toContain('Orders');
      expect(mail?.envelope.to).toEqual(['dev@example.test']);
    });
  });
}
