// Uniqueness options (core/unique.ts, docs/uniqueness.md) through the HTTP API, on each engine: a
// singleton key holds one job until it is final, a throttle one job per window, a debounce collapses
// repeats into one delayed job; under concurrent enqueues.
import { describe, expect, it } from 'vitest';
import type { HandlerMap } from '../workers/catalog.ts';
import { describeEngines, jobsOf } from './engines.ts';
import { setup, waitFor } from './helpers.ts';

const sleepJob = (options: Record<string, unknown>, ms = 10) => ({ name: 'diagnostics.sleep', data: { ms }, options });

describeEngines('uniqueness', (engine) => {
  describe('singletonKey', () => {
    it('concurrent enqueues with one key make one job; all answer with it', async () => {
      const t = await setup({ engine });
      const answers = await Promise.all(
        Array.from({ length: 10 }, () => t.api('POST', '/v1/jobs', sleepJob({ singletonKey: 'tenant-1' }))),
      );
      const ids = new Set(answers.map((a) => a.body.id));
      expect(ids.size).toBe(1);
      expect(answers.map((a) => a.status).sort()).toEqual([200, 200, 200, 200, 200, 200, 200, 200, 200, 202]);
      expect((await jobsOf[engine](t.engine, 'default')).size).toBe(1);
      // another key, or another kind, is another job
      const other = await t.api('POST', '/v1/jobs', sleepJob({ singletonKey: 'tenant-2' }));
      expect(other.status).toBe(202);
      expect(other.body.id).not.toBe([...ids][0]);
    });

    it('answers with the active job while it runs, and makes a new one once it is final', async () => {
      const t = await setup({ engine });
      let release!: () => void;
      const gate = new Promise<void>((r) => {
        release = r;
      });
      t.startWorker({
        handlers: {
          'diagnostics.sleep': async () => {
            await gate;
            return null;
          },
        } as HandlerMap,
        queues: { default: 2 },
      });
      const first = await t.api('POST', '/v1/jobs', sleepJob({ singletonKey: 'k' }));
      expect(first.status).toBe(202);
      await waitFor(async () => (await t.api('GET', `/v1/jobs/${first.body.id}`)).body.state === 'active', { what: 'active' });
      const during = await t.api('POST', '/v1/jobs', sleepJob({ singletonKey: 'k' }));
      expect(during.status).toBe(200);
      expect(during.body).toMatchObject({ id: first.body.id, state: 'active' });
      release();
      await waitFor(async () => (await t.api('GET', `/v1/jobs/${first.body.id}`)).body.state === 'completed', { what: 'completed' });
      const after = await t.api('POST', '/v1/jobs', sleepJob({ singletonKey: 'k' }));
      expect(after.status).toBe(202);
      expect(after.body.id).not.toBe(first.body.id);
      await waitFor(async () => (await t.api('GET', `/v1/jobs/${after.body.id}`)).body.state === 'completed', { what: 'second completed' });
    });

    it('moves past a cancelled job', async () => {
      const t = await setup({ engine });
      const first = await t.api('POST', '/v1/jobs', sleepJob({ singletonKey: 'c', delay: 60_000 }));
      expect((await t.api('DELETE', `/v1/jobs/${first.body.id}`)).status).toBe(200);
      const next = await t.api('POST', '/v1/jobs', sleepJob({ singletonKey: 'c' }));
      expect(next.status).toBe(202);
      expect(next.body.id).not.toBe(first.body.id);
    });
  });

  describe('throttle', () => {
    it('keeps one job per key and window; extras answer with it, other keys are apart', async () => {
      const t = await setup({ engine });
      const throttle = { key: 'report:42', ms: 3_600_000 };
      const answers = await Promise.all(Array.from({ length: 6 }, () => t.api('POST', '/v1/jobs', sleepJob({ throttle }))));
      expect(new Set(answers.map((a) => a.body.id)).size).toBe(1);
      expect(answers.filter((a) => a.status === 202)).toHaveLength(1);
      const other = await t.api('POST', '/v1/jobs', sleepJob({ throttle: { ...throttle, key: 'report:43' } }));
      expect(other.status).toBe(202);
      expect((await jobsOf[engine](t.engine, 'default')).size).toBe(2);
    });
  });

  describe('debounce', () => {
    it('collapses repeats into one delayed job with the last payload, run once; then a new one', async () => {
      const t = await setup({ engine });
      const debounce = { key: 'index:doc-7', ms: 1_000 };
      const ids: string[] = [];
      let lastAt = 0;
      for (const ms of [1, 2, 3]) {
        const r = await t.api('POST', '/v1/jobs', sleepJob({ debounce }, ms));
        expect(r.status).toBe(ms === 1 ? 202 : 200);
        ids.push(r.body.id);
        lastAt = Date.now();
      }
      expect(new Set(ids).size).toBe(1);
      const view = (await t.api('GET', `/v1/jobs/${ids[0]}`)).body;
      expect(view).toMatchObject({ state: 'delayed', data: { ms: 3 } });
      expect(Date.parse(view.runAt)).toBeGreaterThanOrEqual(lastAt + 1_000 - 50); // pushed back by the last repeat
      const ran: number[] = [];
      t.startWorker({
        handlers: {
          'diagnostics.sleep': async (p: { ms: number }) => {
            ran.push(p.ms);
            return null;
          },
        } as HandlerMap,
        queues: { default: 2 },
      });
      await waitFor(async () => (await t.api('GET', `/v1/jobs/${ids[0]}`)).body.state === 'completed', { timeoutMs: 15_000, what: 'ran' });
      expect(ran).toEqual([3]);
      const again = await t.api('POST', '/v1/jobs', sleepJob({ debounce }, 4));
      expect(again.status).toBe(202);
      expect(again.body.id).not.toBe(ids[0]);
      expect((await jobsOf[engine](t.engine, 'default')).size).toBe(2);
    });
  });

  describe('bad input', () => {
    it('refuses two uniqueness options at once, naming the field, and uniqueness in bulk', async () => {
      const t = await setup({ engine });
      const both = await t.api('POST', '/v1/jobs', sleepJob({ idempotencyKey: 'a', singletonKey: 'b' }));
      expect(both.status).toBe(400);
      expect(both.body.error.details).toContainEqual({ path: 'options.singletonKey', message: expect.stringMatching(/not both/) });
      const badWindow = await t.api('POST', '/v1/jobs', sleepJob({ throttle: { key: 'x', ms: 5 } }));
      expect(badWindow.status).toBe(400);
      expect(badWindow.body.error.details[0].path).toBe('options.throttle.ms');
      const bulk = await t.api('POST', '/v1/jobs/bulk', {
        jobs: [sleepJob({}), sleepJob({ singletonKey: 's' }), sleepJob({ debounce: { key: 'd', ms: 500 } })],
      });
      expect(bulk.status).toBe(400);
      expect(bulk.body.error.details).toContainEqual({ path: 'jobs[1].options.singletonKey', message: expect.any(String) });
      expect(bulk.body.error.details).toContainEqual({ path: 'jobs[2].options.debounce', message: expect.any(String) });
      expect((await jobsOf[engine](t.engine, 'default')).size).toBe(0);
    });
  });
});
