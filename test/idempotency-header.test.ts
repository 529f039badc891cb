// The Idempotency-Key request header (IETF draft) on both engines: on POST /v1/jobs it is options.idempotencyKey,
// on POST /v1/jobs/bulk it keys the request (each job without a key of its own gets `<key>#<index>`); a header
// that disagrees with the body is 400. The SDK sends one on every enqueue and retries a lost answer with it.
import { expect, it } from 'vitest';
import { ConveyorClient } from '../producers/sdk.ts';
import { describeEngines } from './engines.ts';
import { setup, waitFor } from './helpers.ts';

const noop = (note: string, options?: object) => ({ name: 'diagnostics.noop', data: { note }, ...(options ? { options } : {}) });

describeEngines('Idempotency-Key header', (engine) => {
  it('POST /v1/jobs: the header is the idempotency key; header and body must agree', async () => {
    const t = await setup({ engine });
    const first = await t.api('POST', '/v1/jobs', noop('a'), { headers: { 'Idempotency-Key': '"order-1"' } });
    expect(first.status).toBe(202);
    const again = await t.api('POST', '/v1/jobs', noop('a'), { headers: { 'Idempotency-Key': 'order-1' } });
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(first.body.id);
    // the same key in the body is the same job
    const body = await t.api('POST', '/v1/jobs', noop('a', { idempotencyKey: 'order-1' }));
    expect(body.status).toBe(200);
    expect(body.body.id).toBe(first.body.id);
    const both = await t.api('POST', '/v1/jobs', noop('a', { idempotencyKey: 'order-1' }), { headers: { 'Idempotency-Key': 'order-1' } });
    expect(both.status).toBe(200);
    const conflict = await t.api('POST', '/v1/jobs', noop('a', { idempotencyKey: 'other' }), { headers: { 'Idempotency-Key': 'order-1' } });
    expect(conflict.status).toBe(400);
    expect(conflict.body.error.details[0].path).toBe('Idempotency-Key');
    for (const bad of ['""', 'x'.repeat(256)]) {
      const r = await t.api('POST', '/v1/jobs', noop('a'), { headers: { 'Idempotency-Key': bad } });
      expect(r.status).toBe(400);
      expect(r.body.error.details[0].path).toBe('Idempotency-Key');
    }
  });

  it('POST /v1/jobs/bulk: a retried request answers the jobs the first one made', async () => {
    const t = await setup({ engine });
    const jobs = [noop('x'), noop('y', { idempotencyKey: 'own' }), noop('z')];
    const headers = { 'Idempotency-Key': 'bulk-1' };
    const first = await t.api('POST', '/v1/jobs/bulk', { jobs }, { headers });
    expect(first.status).toBe(202);
    expect(first.body.jobs.map((j: { created: boolean }) => j.created)).toEqual([true, true, true]);
    const again = await t.api('POST', '/v1/jobs/bulk', { jobs }, { headers });
    expect(again.status).toBe(202);
    expect(again.body.jobs.map((j: { created: boolean }) => j.created)).toEqual([false, false, false]);
    expect(again.body.jobs.map((j: { id: string }) => j.id)).toEqual(first.body.jobs.map((j: { id: string }) => j.id));
    // a job's own key is kept: enqueued alone with it, it is the same job
    const own = await t.api('POST', '/v1/jobs', noop('y', { idempotencyKey: 'own' }));
    expect(own.body.id).toBe(first.body.jobs[1].id);
    // without the header the same bulk is new jobs
    const fresh = await t.api('POST', '/v1/jobs/bulk', { jobs: [noop('x')] });
    expect(fresh.body.jobs[0].created).toBe(true);
  });

  it('is documented in the OpenAPI document', async () => {
    const t = await setup({ engine });
    const doc = (await t.api('GET', '/v1/openapi.json')).body;
    for (const path of ['/v1/jobs', '/v1/jobs/bulk']) {
      const params = doc.paths[path].post.parameters as { name: string; in: string }[];
      expect(params).toContainEqual(expect.objectContaining({ name: 'Idempotency-Key', in: 'header' }));
    }
  });

  it('the SDK keys every enqueue and retries a lost answer with the same key: one job', async () => {
    const t = await setup({ engine });
    const sent: (string | null)[] = [];
    let lose = 1;
    // a network that loses the first answer after the server handled the request
    const lossy: typeof fetch = async (input, init) => {
      sent.push(new Headers(init?.headers).get('idempotency-key'));
      const res = await fetch(input, init);
      if (lose-- > 0) {
        await res.text();
        throw new TypeError('fetch failed');
      }
      return res;
    };
    const client = new ConveyorClient({ baseUrl: t.baseUrl, apiKey: t.keys.admin, fetch: lossy });
    const job = await client.enqueue('diagnostics.noop', { note: 'sdk-retry' });
    expect(sent).toHaveLength(2);
    expect(sent[0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(sent[1]).toBe(sent[0]);
    expect(job.created).toBe(false); // the retry found the job its lost first attempt made
    const stored = await t.api('GET', `/v1/jobs?kind=diagnostics.noop&limit=100`);
    expect(stored.status).toBe(200);
    expect(stored.body.jobs.filter((j: { data: { note?: string } }) => j.data?.note === 'sdk-retry')).toHaveLength(1);
    lose = 1;
    const bulk = await client.enqueueMany([{ name: 'diagnostics.noop', data: { note: 'b1' } }]);
    expect(bulk.map((b) => b.created)).toEqual([false]);
    expect(sent[2]).toBe(sent[3]);
  });
});

describeEngines('a delayed job keeps its runAt', (engine) => {
  it('GET /v1/jobs/:id still shows runAt once the delayed job ran', async () => {
    const t = await setup({ engine });
    const r = await t.api('POST', '/v1/jobs', noop('later', { delay: 300 }));
    expect(r.status).toBe(202);
    const before = (await t.api('GET', r.body.links.self)).body;
    expect(before.runAt).not.toBeNull();
    t.startWorker();
    const done = await waitFor(
      async () => {
        const j = (await t.api('GET', r.body.links.self)).body;
        return j.state === 'completed' && j;
      },
      { what: 'the delayed job completed', timeoutMs: 15_000 },
    );
    expect(done.runAt).toBe(before.runAt);
  });
});
