// Every HTTP route's success and error paths, on each engine (real Redis, real PostgreSQL).
import type { AddressInfo } from 'node:net';
import { describe, expect, it, onTestFinished } from 'vitest';
import { createBackend } from '../core/engines/factory.ts';
import { createApp } from '../producers/app.ts';
import { queueNames } from '../workers/catalog.ts';
import { describeEngines } from './engines.ts';
import { quietLogger, setup, waitFor } from './helpers.ts';

const errorShape = (code: string) => ({
  error: { code, message: expect.any(String), details: expect.any(Array), requestId: expect.any(String) },
});

describeEngines('HTTP API', (engine) => {
  describe('health', () => {
    it('answers /healthz and /readyz without credentials', async () => {
      const t = await setup({ engine });
      const h = await t.api('GET', '/healthz', undefined, { key: null });
      expect(h).toMatchObject({ status: 200, body: { status: 'ok' } });
      const r = await t.api('GET', '/readyz', undefined, { key: null });
      expect(r).toMatchObject({ status: 200, body: { status: 'ready', checks: { [t.backend.storeName]: 'up' } } });
    });
  });

  describe('auth', () => {
    it('refuses every /v1 route without a key, with a bad key, and outside the key’s scopes', async () => {
      const t = await setup({ engine });
      for (const path of ['/v1/queues', '/v1/openapi.json', '/v1/jobs/x', '/v1/dead-letters']) {
        const none = await t.api('GET', path, undefined, { key: null });
        expect(none.status, path).toBe(401);
        expect(none.body).toMatchObject(errorShape('unauthorized'));
        expect(none.headers.get('www-authenticate')).toContain('Bearer');
      }
      const wrong = await t.api('POST', '/v1/jobs', { name: 'diagnostics.noop', data: {} }, { key: 'cvk_not-a-real-key' });
      expect(wrong).toMatchObject({ status: 401, body: errorShape('unauthorized') });

      const scoped = await t.api('POST', '/v1/jobs', { name: 'diagnostics.sleep', data: { ms: 1 } }, { key: t.keys.noopOnly });
      expect(scoped).toMatchObject({ status: 403, body: errorShape('forbidden') });
      expect(scoped.body.error.details[0].path).toBe('name');
      const allowed = await t.api('POST', '/v1/jobs', { name: 'diagnostics.noop', data: {} }, { key: t.keys.noopOnly });
      expect(allowed.status).toBe(202);
      const pause = await t.api('POST', '/v1/queues/default/pause', undefined, { key: t.keys.noopOnly });
      expect(pause.status).toBe(403);
      const replay = await t.api('POST', '/v1/dead-letters/x/replay', undefined, { key: t.keys.noopOnly });
      expect(replay.status).toBe(404); // no queue this key manages: nothing to find
    });

    it('rate-limits per key with 429 and Retry-After', async () => {
      const t = await setup({ engine });
      const statuses: number[] = [];
      let retryAfter: string | null = null;
      for (let i = 0; i < 6; i++) {
        const r = await t.api('GET', '/v1/queues', undefined, { key: t.keys.limited });
        statuses.push(r.status);
        if (r.status === 429) {
          retryAfter = r.headers.get('retry-after');
          expect(r.body).toMatchObject(errorShape('rate_limited'));
        }
      }
      expect(statuses.filter((s) => s === 200).length).toBeGreaterThanOrEqual(1);
      expect(statuses).toContain(429);
      expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
      // another key is not affected
      expect((await t.api('GET', '/v1/queues')).status).toBe(200);
    });

    it('holds a key’s rate limit across two web processes on one store', async () => {
      const t = await setup({ engine });
      // a second web process, in effect: its own backend (connections, memory), the same store and prefix
      const backend = createBackend(t.config, quietLogger, { queues: queueNames });
      const app = await createApp({
        engine: backend.engine,
        backend,
        config: t.config,
        logger: quietLogger,
        apiKeys: t.config.API_KEYS ?? [],
      });
      const server = app.listen(0, '127.0.0.1');
      await new Promise<void>((r) => server.once('listening', () => r()));
      onTestFinished(async () => {
        server.closeAllConnections();
        await new Promise((r) => server.close(r));
        await backend.close();
      });
      const other = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const get = async (base: string) =>
        (await fetch(`${base}/v1/queues`, { headers: { authorization: `Bearer ${t.keys.limited}` } })).status;
      // 2 per second in all (the window opens at the key's first request): four requests alternating
      // between the two processes meet a 429; counted per process, all four would pass
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) statuses.push(await get(i % 2 ? other : t.baseUrl));
      expect(statuses.filter((s) => s === 429).length, statuses.join(',')).toBeGreaterThanOrEqual(1);
    });
  });

  describe('POST /v1/jobs', () => {
    it('enqueues and answers 202 with id, state and a self link; the request id is carried', async () => {
      const t = await setup({ engine });
      const r = await t.api(
        'POST',
        '/v1/jobs',
        { name: 'diagnostics.noop', data: { note: 'hi' } },
        { headers: { 'x-request-id': 'req-123' } },
      );
      expect(r.status).toBe(202);
      expect(r.headers.get('x-request-id')).toBe('req-123');
      expect(r.body).toMatchObject({ id: expect.any(String), name: 'diagnostics.noop', queue: 'default', state: 'waiting' });
      expect(r.body.links.self).toBe(`/v1/jobs/${r.body.id}`);
      expect(r.headers.get('location')).toBe(r.body.links.self);
      const got = await t.api('GET', r.body.links.self);
      expect(got.status).toBe(200);
      expect(got.body).toMatchObject({
        id: r.body.id,
        state: 'waiting',
        priority: 5,
        attempts: { made: 0, max: 5 },
        data: { note: 'hi' },
        result: null,
        error: null,
        startedAt: null,
        finishedAt: null,
        runAt: null,
      });
    });

    it('applies options: priority, delay, runAt, attempts, timeout', async () => {
      const t = await setup({ engine });
      const runAt = new Date(Date.now() + 3_600_000).toISOString();
      const a = await t.api('POST', '/v1/jobs', {
        name: 'diagnostics.noop',
        data: {},
        options: { priority: 1, attempts: 2, timeout: 5000 },
      });
      const b = await t.api('POST', '/v1/jobs', { name: 'diagnostics.noop', data: {}, options: { delay: 60_000 } });
      const c = await t.api('POST', '/v1/jobs', { name: 'diagnostics.noop', data: {}, options: { runAt } });
      expect([a.status, b.status, c.status]).toEqual([202, 202, 202]);
      const ga = (await t.api('GET', a.body.links.self)).body;
      expect(ga).toMatchObject({ priority: 1, attempts: { max: 2 } });
      expect(b.body.state).toBe('delayed');
      const gc = (await t.api('GET', c.body.links.self)).body;
      expect(gc.state).toBe('delayed');
      expect(Math.abs(Date.parse(gc.runAt) - Date.parse(runAt))).toBeLessThan(1_000);
    });

    it('answers 400 naming each bad field, and enqueues nothing', async () => {
      const t = await setup({ engine });
      const unknown = await t.api('POST', '/v1/jobs', { name: 'nope.nothing', data: {} });
      expect(unknown).toMatchObject({ status: 400, body: errorShape('invalid_request') });
      expect(unknown.body.error.details[0]).toMatchObject({ path: 'name', message: expect.stringContaining('unknown job kind') });

      const bad = await t.api('POST', '/v1/jobs', {
        name: 'diagnostics.sleep',
        data: { ms: 'soon', extra: 1 },
        options: { priority: 11, delay: 5, runAt: 'tomorrow' },
      });
      expect(bad.status).toBe(400);
      const paths = bad.body.error.details.map((d: { path: string }) => d.path).sort();
      expect(paths).toEqual(expect.arrayContaining(['data.ms', 'options.priority', 'options.runAt']));
      expect(bad.body.error.details.some((d: { path: string; message: string }) => d.message.includes('extra'))).toBe(true);

      const both = await t.api('POST', '/v1/jobs', {
        name: 'diagnostics.noop',
        data: {},
        options: { delay: 5, runAt: new Date().toISOString() },
      });
      expect(both.body.error.details).toEqual([{ path: 'options.runAt', message: 'give delay or runAt, not both' }]);

      const notJson = await t.api('POST', '/v1/jobs', '{"name": ', {});
      expect(notJson).toMatchObject({ status: 400, body: errorShape('invalid_json') });
      const wrongType = await t.api('POST', '/v1/jobs', 'name=x', { headers: { 'content-type': 'application/x-www-form-urlencoded' } });
      expect(wrongType).toMatchObject({ status: 415, body: errorShape('unsupported_media_type') });

      const q = await t.api('GET', '/v1/queues');
      expect(q.body.queues[0].counts.waiting).toBe(0);
    });

    it('answers 413 for a body over MAX_BODY_BYTES', async () => {
      const t = await setup({ engine, MAX_BODY_BYTES: '2048' });
      const r = await t.api('POST', '/v1/jobs', { name: 'diagnostics.noop', data: { note: 'x'.repeat(4000) } });
      expect(r).toMatchObject({ status: 413, body: errorShape('payload_too_large') });
    });

    it('returns the existing job (200) for a repeated idempotency key, also under concurrent duplicate POSTs', async () => {
      const t = await setup({ engine });
      const body = { name: 'diagnostics.noop', data: {}, options: { idempotencyKey: 'invoice-7' } };
      const results = await Promise.all(Array.from({ length: 15 }, () => t.api('POST', '/v1/jobs', body)));
      const statuses = results.map((r) => r.status).sort();
      expect(statuses.filter((s) => s === 202)).toHaveLength(1);
      expect(statuses.filter((s) => s === 200)).toHaveLength(14);
      expect(new Set(results.map((r) => r.body.id)).size).toBe(1);
      const again = await t.api('POST', '/v1/jobs', body);
      expect(again.status).toBe(200);
      expect(again.body.id).toBe(results[0]?.body.id);
    });
  });

  describe('POST /v1/jobs/bulk', () => {
    it('enqueues all jobs in order', async () => {
      const t = await setup({ engine });
      const jobs = Array.from({ length: 25 }, (_, i) => ({ name: 'diagnostics.noop', data: { note: `n${i}` } }));
      const r = await t.api('POST', '/v1/jobs/bulk', { jobs });
      expect(r.status).toBe(202);
      expect(r.body.jobs).toHaveLength(25);
      const first = await t.api('GET', r.body.jobs[3].links.self);
      expect(first.body.data).toEqual({ note: 'n3' });
    });

    it('is all-or-nothing: one bad job → 400 pointing at jobs[i], nothing enqueued', async () => {
      const t = await setup({ engine });
      const jobs = [
        { name: 'diagnostics.noop', data: {} },
        { name: 'diagnostics.noop', data: {} },
        { name: 'diagnostics.noop', data: {} },
        { name: 'diagnostics.sleep', data: { ms: -1 } },
      ];
      const r = await t.api('POST', '/v1/jobs/bulk', { jobs });
      expect(r.status).toBe(400);
      expect(r.body.error.details[0].path).toBe('jobs[3].data.ms');
      expect((await t.api('GET', '/v1/queues')).body.queues[0].counts.waiting).toBe(0);
    });

    it('refuses more than BULK_MAX_JOBS, an empty list, and kinds outside the key’s scopes', async () => {
      const t = await setup({ engine, BULK_MAX_JOBS: '3' });
      const four = Array.from({ length: 4 }, () => ({ name: 'diagnostics.noop', data: {} }));
      expect((await t.api('POST', '/v1/jobs/bulk', { jobs: four })).status).toBe(400);
      expect((await t.api('POST', '/v1/jobs/bulk', { jobs: [] })).status).toBe(400);
      const forbidden = await t.api(
        'POST',
        '/v1/jobs/bulk',
        { jobs: [{ name: 'diagnostics.sleep', data: { ms: 1 } }] },
        {
          key: t.keys.noopOnly,
        },
      );
      expect(forbidden.status).toBe(403);
      expect(forbidden.body.error.details[0].path).toBe('jobs[0].name');
    });
  });

  describe('GET and DELETE /v1/jobs/:id', () => {
    it('404s an unknown job', async () => {
      const t = await setup({ engine });
      expect((await t.api('GET', '/v1/jobs/nope')).status).toBe(404);
      expect((await t.api('DELETE', '/v1/jobs/nope')).status).toBe(404);
    });

    it('cancels a waiting job (200, state cancelled), and 409s a finished one', async () => {
      const t = await setup({ engine });
      const r = await t.api('POST', '/v1/jobs', { name: 'diagnostics.noop', data: {} });
      const del = await t.api('DELETE', r.body.links.self);
      expect(del).toMatchObject({ status: 200, body: { id: r.body.id, state: 'cancelled' } });
      expect((await t.api('GET', r.body.links.self)).body.state).toBe('cancelled');
      expect((await t.api('DELETE', r.body.links.self)).status).toBe(409);

      t.startWorker();
      const done = await t.api('POST', '/v1/jobs', { name: 'diagnostics.noop', data: {} });
      await waitFor(async () => (await t.api('GET', done.body.links.self)).body.state === 'completed');
      const late = await t.api('DELETE', done.body.links.self);
      expect(late).toMatchObject({ status: 409, body: errorShape('conflict') });
    });

    it('cancels an active job: 202, then cancelled', async () => {
      const t = await setup({ engine });
      t.startWorker();
      const r = await t.api('POST', '/v1/jobs', { name: 'diagnostics.sleep', data: { ms: 60_000 } });
      await waitFor(async () => (await t.api('GET', r.body.links.self)).body.state === 'active', { what: 'active' });
      const del = await t.api('DELETE', r.body.links.self);
      expect(del.status).toBe(202);
      expect(del.body.cancelRequested).toBe(true);
      await waitFor(async () => (await t.api('GET', r.body.links.self)).body.state === 'cancelled', { what: 'cancelled' });
    });

    it('hides a job from a key whose scopes do not cover its kind', async () => {
      const t = await setup({ engine });
      const r = await t.api('POST', '/v1/jobs', { name: 'diagnostics.sleep', data: { ms: 1 } });
      expect((await t.api('GET', r.body.links.self, undefined, { key: t.keys.noopOnly })).status).toBe(403);
    });
  });

  describe('queues', () => {
    it('lists queues with counts and pauses/resumes them', async () => {
      const t = await setup({ engine });
      await t.api('POST', '/v1/jobs', { name: 'diagnostics.noop', data: {} });
      const q = await t.api('GET', '/v1/queues');
      expect(q.status).toBe(200);
      expect(q.body.engine).toBe(engine);
      expect(q.body.capabilities).toMatchObject({ priority: true });
      expect(q.body.queues).toContainEqual(
        expect.objectContaining({
          name: 'default',
          paused: false,
          counts: expect.objectContaining({ waiting: 1, dead: 0 }),
          oldestWaitingAgeSeconds: expect.any(Number),
        }),
      );
      const p = await t.api('POST', '/v1/queues/default/pause');
      expect(p).toMatchObject({ status: 200, body: { name: 'default', paused: true } });
      const r = await t.api('POST', '/v1/queues/default/resume');
      expect(r).toMatchObject({ status: 200, body: { paused: false } });
      const missing = await t.api('POST', '/v1/queues/nope/pause');
      expect(missing).toMatchObject({ status: 404, body: errorShape('not_found') });
    });
  });

  describe('dead letters', () => {
    it('lists dead letters and replays one', async () => {
      const t = await setup({ engine });
      t.startWorker();
      const r = await t.api('POST', '/v1/jobs', { name: 'diagnostics.sleep', data: { ms: 0, fail: 'permanent', tag: 'dl' } });
      await waitFor(async () => (await t.api('GET', r.body.links.self)).body.state === 'dead', { what: 'dead' });
      const list = await t.api('GET', '/v1/dead-letters?queue=default');
      expect(list.status).toBe(200);
      expect(list.body.deadLetters).toHaveLength(1);
      expect(list.body.deadLetters[0]).toMatchObject({ id: r.body.id, reason: expect.stringContaining('permanent') });
      const bad = await t.api('GET', '/v1/dead-letters?queue=nope&limit=0');
      expect(bad.status).toBe(400);
      expect(bad.body.error.details.map((d: { path: string }) => d.path).sort()).toEqual(['limit', 'queue']);
      const replay = await t.api('POST', `/v1/dead-letters/${r.body.id}/replay`);
      expect(replay).toMatchObject({ status: 202, body: { id: r.body.id } });
      // it fails permanently again, and is dead again: the replay really ran it
      await waitFor(async () => {
        const j = (await t.api('GET', r.body.links.self)).body;
        return j.state === 'dead' && j.attempts.made === 1 && j;
      });
      expect((await t.api('POST', '/v1/dead-letters/nope/replay')).status).toBe(404);
    });
  });

  describe('openapi', () => {
    it('serves an OpenAPI 3.1 document generated from the catalog', async () => {
      const t = await setup({ engine });
      const r = await t.api('GET', '/v1/openapi.json');
      expect(r.status).toBe(200);
      expect(r.body.openapi).toBe('3.1.0');
      expect(Object.keys(r.body.paths)).toEqual(
        expect.arrayContaining(['/v1/jobs', '/v1/jobs/bulk', '/v1/jobs/{id}', '/v1/queues', '/v1/dead-letters']),
      );
      const sleep = r.body.components.schemas.Payload_diagnostics_sleep;
      expect(sleep.properties.ms).toMatchObject({ type: 'integer', minimum: 0, maximum: 600000 });
      expect(sleep.required).toEqual(['ms']);
      expect(r.body.components.schemas.JobRequest.oneOf.length).toBeGreaterThanOrEqual(2);
    });
  });

  describe('unknown routes', () => {
    it('answers 404 in the error format', async () => {
      const t = await setup({ engine });
      expect(await t.api('GET', '/v1/nothing-here')).toMatchObject({ status: 404, body: errorShape('not_found') });
    });
  });
});
