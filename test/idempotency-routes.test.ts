// Idempotency-Key on the creating POSTs that are not jobs (core/http/idempotent-route.ts), on both engines:
// POST /v1/flows, POST /v1/webhooks, POST /v1/schedules/:name/run, POST /v1/jobs/actions,
// POST /v1/dead-letters/:id/replay (and POST /v1/webhooks/:id/rotate-secret: test/webhook-rotation.test.ts,
// whose route is checked in the OpenAPI document here). The same key and
// request replays the first answer (one thing made), another request is 422, a key still in flight is 409 +
// Retry-After, a failed request records nothing, keys are per caller, and a hung ledger answers 503 fast.
import { expect, it } from 'vitest';
import { IDEMPOTENCY_LEDGER, type IdempotentRecord, ledgerEntryOf } from '../core/http/idempotent-route.ts';
import type { OnceLedger } from '../core/stores.ts';
import { ConveyorClient } from '../producers/sdk.ts';
import { describeEngines } from './engines.ts';
import { setup, type TestPlatform, waitFor } from './helpers.ts';

type Api = Awaited<ReturnType<TestPlatform['api']>>;

const key = (k: string) => ({ headers: { 'Idempotency-Key': k } });
const flow = (note: string) => ({
  jobs: [
    { key: 'a', name: 'diagnostics.noop', data: { note } },
    { key: 'b', name: 'diagnostics.noop', data: { note: `${note}-child` }, dependsOn: ['a'] },
  ],
});
/** jobs whose data.note is `note` (the roots a flow or a run enqueued) */
const jobsWithNote = async (t: TestPlatform, note: string) => {
  const r = await t.api('GET', `/v1/jobs?data.note=${encodeURIComponent(note)}&limit=100`);
  expect(r.status).toBe(200);
  return r.body.jobs as { id: string }[];
};
const hooksTo = async (t: TestPlatform, url: string) => {
  const r = await t.api('GET', '/v1/webhooks');
  expect(r.status).toBe(200);
  return (r.body.subscriptions as { id: string; url: string }[]).filter((s) => s.url === url);
};
/** one answer made the thing; the other replayed it or was told the first was still running */
const oneMadeOneReplayedOr409 = (pair: Api[], made: number) => {
  const first = pair.find((r) => r.status === made && r.headers.get('idempotent-replayed') === null);
  expect(first, JSON.stringify(pair.map((r) => [r.status, r.body]))).toBeDefined();
  const other = pair.find((r) => r !== first) as Api;
  if (other.status === 409) {
    expect(other.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(other.body.error.details[0].path).toBe('Idempotency-Key');
  } else {
    expect(other.status).toBe(made);
    expect(other.headers.get('idempotent-replayed')).toBe('true');
    expect(other.body).toEqual(first?.body);
  }
  return first as Api;
};

describeEngines('Idempotency-Key on the other creating POSTs', (engine) => {
  it('POST /v1/flows: a retry replays the flow the first made; another body is 422; a failed try records nothing', async () => {
    const t = await setup({ engine });
    const first = await t.api('POST', '/v1/flows', flow('f1'), key('flow-1'));
    expect(first.status, JSON.stringify(first.body)).toBe(202);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    const again = await t.api('POST', '/v1/flows', flow('f1'), key('flow-1'));
    expect(again.status).toBe(202);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.headers.get('location')).toBe(`/v1/flows/${first.body.id}`);
    expect(again.body).toEqual(first.body);
    expect(await jobsWithNote(t, 'f1')).toHaveLength(1);
    // the same request, its keys in another order, is the same request
    const reordered = { jobs: flow('f1').jobs.map((j) => Object.fromEntries(Object.entries(j).reverse())) };
    expect((await t.api('POST', '/v1/flows', reordered, key('flow-1'))).body.id).toBe(first.body.id);

    const other = await t.api('POST', '/v1/flows', flow('f2'), key('flow-1'));
    expect(other.status).toBe(422);
    expect(other.body.error.details).toEqual([expect.objectContaining({ path: 'Idempotency-Key' })]);
    expect(await jobsWithNote(t, 'f2')).toHaveLength(0);

    // a failed request (400: unknown kind) records nothing: the corrected retry with its key goes through
    const bad = await t.api('POST', '/v1/flows', { jobs: [{ key: 'a', name: 'no.such.kind', data: {} }] }, key('flow-2'));
    expect(bad.status).toBe(400);
    const fixed = await t.api('POST', '/v1/flows', flow('f3'), key('flow-2'));
    expect(fixed.status).toBe(202);
    expect(fixed.headers.get('idempotent-replayed')).toBeNull();
    expect(await jobsWithNote(t, 'f3')).toHaveLength(1);

    // without the header nothing changes: two requests, two flows
    await t.api('POST', '/v1/flows', flow('f4'));
    await t.api('POST', '/v1/flows', flow('f4'));
    expect(await jobsWithNote(t, 'f4')).toHaveLength(2);

    // concurrent duplicates: one flow
    const pair = await Promise.all([0, 1].map(() => t.api('POST', '/v1/flows', flow('f5'), key('flow-3'))));
    oneMadeOneReplayedOr409(pair, 202);
    expect(await jobsWithNote(t, 'f5')).toHaveLength(1);
  });

  it('POST /v1/webhooks: one subscription per key; 422 on another body; a refused URL then the fixed one', async () => {
    const t = await setup({ engine, HTTP_TARGET_ALLOWLIST: '127.0.0.1' });
    const url = 'http://127.0.0.1:9/idem-hook';
    const first = await t.api('POST', '/v1/webhooks', { url, events: ['job.completed'] }, key('hook-1'));
    expect(first.status, JSON.stringify(first.body)).toBe(201);
    const again = await t.api('POST', '/v1/webhooks', { url, events: ['job.completed'] }, key('hook-1'));
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.headers.get('location')).toBe(`/v1/webhooks/${first.body.id}`);
    expect(again.body).toEqual(first.body);
    expect(await hooksTo(t, url)).toHaveLength(1);

    const other = await t.api('POST', '/v1/webhooks', { url, events: ['job.dead'] }, key('hook-1'));
    expect(other.status).toBe(422);
    expect(other.body.error.details[0].path).toBe('Idempotency-Key');
    expect(await hooksTo(t, url)).toHaveLength(1);

    const refused = await t.api('POST', '/v1/webhooks', { url: 'http://example.com/hook' }, key('hook-2'));
    expect(refused.status).toBe(400);
    const url2 = 'http://127.0.0.1:9/idem-hook-2';
    const fixed = await t.api('POST', '/v1/webhooks', { url: url2 }, key('hook-2'));
    expect(fixed.status).toBe(201);
    expect(await hooksTo(t, url2)).toHaveLength(1);

    const url3 = 'http://127.0.0.1:9/idem-hook-3';
    const pair = await Promise.all([0, 1].map(() => t.api('POST', '/v1/webhooks', { url: url3 }, key('hook-3'))));
    oneMadeOneReplayedOr409(pair, 201);
    expect(await hooksTo(t, url3)).toHaveLength(1);
  });

  it('POST /v1/schedules/:name/run: a retried run is one job; another schedule under the key is 422', async () => {
    const t = await setup({ engine });
    for (const name of ['idem-a', 'idem-b']) {
      const put = await t.api('PUT', `/v1/schedules/${name}`, {
        cron: '0 3 1 1 *',
        job: { name: 'diagnostics.noop', data: { note: `run-${name}` } },
      });
      expect(put.status, JSON.stringify(put.body)).toBeLessThan(300);
    }
    const first = await t.api('POST', '/v1/schedules/idem-a/run', undefined, key('run-1'));
    expect(first.status, JSON.stringify(first.body)).toBe(202);
    const again = await t.api('POST', '/v1/schedules/idem-a/run', undefined, key('run-1'));
    expect(again.status).toBe(202);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body.id).toBe(first.body.id);
    // an empty JSON body is no body
    const empty = await t.api('POST', '/v1/schedules/idem-a/run', {}, key('run-1'));
    expect(empty.status).toBe(202);
    expect(empty.body.id).toBe(first.body.id);
    expect(await jobsWithNote(t, 'run-idem-a')).toHaveLength(1);
    // the path is part of the request: the key on another schedule is another request
    const other = await t.api('POST', '/v1/schedules/idem-b/run', undefined, key('run-1'));
    expect(other.status).toBe(422);
    expect(other.body.error.details[0].path).toBe('Idempotency-Key');
    expect(await jobsWithNote(t, 'run-idem-b')).toHaveLength(0);
    // a run of a schedule that does not exist (404) records nothing
    expect((await t.api('POST', '/v1/schedules/idem-c/run', undefined, key('run-2'))).status).toBe(404);
    const put = await t.api('PUT', '/v1/schedules/idem-c', {
      cron: '0 3 1 1 *',
      job: { name: 'diagnostics.noop', data: { note: 'run-idem-c' } },
    });
    expect(put.status).toBeLessThan(300);
    expect((await t.api('POST', '/v1/schedules/idem-c/run', undefined, key('run-2'))).status).toBe(202);
    expect(await jobsWithNote(t, 'run-idem-c')).toHaveLength(1);

    const pair = await Promise.all([0, 1].map(() => t.api('POST', '/v1/schedules/idem-b/run', undefined, key('run-3'))));
    oneMadeOneReplayedOr409(pair, 202);
    expect(await jobsWithNote(t, 'run-idem-b')).toHaveLength(1);
  });

  it('POST /v1/jobs/actions: a retried bulk action answers the action the first started', async () => {
    const t = await setup({ engine });
    const body = { filter: { kind: 'diagnostics.noop' }, action: 'cancel' };
    const first = await t.api('POST', '/v1/jobs/actions', body, key('act-1'));
    expect(first.status, JSON.stringify(first.body)).toBe(202);
    const again = await t.api('POST', '/v1/jobs/actions', body, key('act-1'));
    expect(again.status).toBe(202);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body.id).toBe(first.body.id);
    const fresh = await t.api('POST', '/v1/jobs/actions', body, key('act-2'));
    expect(fresh.status).toBe(202);
    expect(fresh.body.id).not.toBe(first.body.id);
    const other = await t.api('POST', '/v1/jobs/actions', { ...body, action: 'retry' }, key('act-1'));
    expect(other.status).toBe(422);
    const bad = await t.api('POST', '/v1/jobs/actions', { ...body, action: 'explode' }, key('act-3'));
    expect(bad.status).toBe(400);
    const ok = await t.api('POST', '/v1/jobs/actions', body, key('act-3'));
    expect(ok.status).toBe(202);
    expect([first.body.id, fresh.body.id]).not.toContain(ok.body.id);
    const pair = await Promise.all([0, 1].map(() => t.api('POST', '/v1/jobs/actions', body, key('act-4'))));
    oneMadeOneReplayedOr409(pair, 202);
  });

  it('POST /v1/dead-letters/:id/replay: a retried replay answers the 202 again, not a 404', async () => {
    const t = await setup({ engine });
    const rt = t.startWorker();
    const r = await t.api('POST', '/v1/jobs', { name: 'diagnostics.sleep', data: { ms: 0, fail: 'permanent', tag: 'idem-dl' } });
    await waitFor(async () => (await t.api('GET', r.body.links.self)).body.state === 'dead', { what: 'dead', timeoutMs: 15_000 });
    await rt.close(1_000); // the replayed job stays waiting
    const first = await t.api('POST', `/v1/dead-letters/${r.body.id}/replay`, undefined, key('dl-1'));
    expect(first.status).toBe(202);
    expect(first.body.id).toBe(r.body.id);
    const again = await t.api('POST', `/v1/dead-letters/${r.body.id}/replay`, undefined, key('dl-1'));
    expect(again.status).toBe(202);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body).toEqual(first.body);
    // without the key the letter is gone: 404, as before
    expect((await t.api('POST', `/v1/dead-letters/${r.body.id}/replay`)).status).toBe(404);
  });

  it('the SDK keys createFlow and runSchedule, and retries a lost answer (or a 409 in flight) with the key', async () => {
    const t = await setup({ engine });
    const sent: (string | null)[] = [];
    const statuses: number[] = [];
    let lose = 0;
    let on409: (() => Promise<void>) | undefined;
    // a network that loses the answer after the server handled the request
    const lossy: typeof fetch = async (input, init) => {
      sent.push(new Headers(init?.headers).get('idempotency-key'));
      const res = await fetch(input, init);
      statuses.push(res.status);
      if (res.status === 409) await on409?.();
      if (lose-- > 0) {
        await res.text();
        throw new TypeError('fetch failed');
      }
      return res;
    };
    const client = new ConveyorClient({ baseUrl: t.baseUrl, apiKey: t.keys.admin, fetch: lossy });
    lose = 1;
    const made = await client.createFlow([{ key: 'a', name: 'diagnostics.noop', data: { note: 'sdk-flow' } }]);
    expect(sent).toHaveLength(2);
    expect(sent[0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(sent[1]).toBe(sent[0]);
    expect(statuses).toEqual([202, 202]);
    expect((await t.api('GET', `/v1/flows/${made.id}`)).status).toBe(200);
    expect(await jobsWithNote(t, 'sdk-flow')).toHaveLength(1);

    const put = await t.api('PUT', '/v1/schedules/sdk-run', {
      cron: '0 3 1 1 *',
      job: { name: 'diagnostics.noop', data: { note: 'sdk-run' } },
    });
    expect(put.status).toBeLessThan(300);
    lose = 1;
    const run = await client.runSchedule('sdk-run');
    expect(sent[3]).toBe(sent[2]);
    expect(await jobsWithNote(t, 'sdk-run')).toEqual([expect.objectContaining({ id: run.id })]);

    // the first attempt is still running (its claim held): the SDK waits Retry-After and asks again
    const ledger = t.backend.ledger<IdempotentRecord>(IDEMPOTENCY_LEDGER, { ttlSeconds: 60 });
    const entry = ledgerEntryOf('POST /v1/flows', 'admin', 'sdk-busy');
    const held = await ledger.begin(entry, 60_000);
    if (held.state !== 'go') throw new Error(`claim: ${held.state}`);
    on409 = () => ledger.release(entry, held.token);
    statuses.length = 0;
    await client.createFlow([{ key: 'a', name: 'diagnostics.noop', data: { note: 'sdk-busy' } }], { idempotencyKey: 'sdk-busy' });
    expect(statuses).toEqual([409, 202]);
    expect(await jobsWithNote(t, 'sdk-busy')).toHaveLength(1);
  });

  it('a key still in flight is 409 + Retry-After; keys are per caller; documented in the OpenAPI document', async () => {
    const t = await setup({ engine, HTTP_TARGET_ALLOWLIST: '127.0.0.1' });
    const ledger = t.backend.ledger<IdempotentRecord>(IDEMPOTENCY_LEDGER, { ttlSeconds: 60 });
    // another request holds the claim (as one still running would)
    const held = await ledger.begin(ledgerEntryOf('POST /v1/webhooks', 'admin', 'busy-1'), 60_000);
    expect(held.state).toBe('go');
    const url = 'http://127.0.0.1:9/idem-busy';
    const busy = await t.api('POST', '/v1/webhooks', { url }, key('busy-1'));
    expect(busy.status).toBe(409);
    expect(Number(busy.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(busy.body.error.details[0].path).toBe('Idempotency-Key');
    expect(await hooksTo(t, url)).toHaveLength(0);
    if (held.state === 'go') await ledger.release(ledgerEntryOf('POST /v1/webhooks', 'admin', 'busy-1'), held.token);
    expect((await t.api('POST', '/v1/webhooks', { url }, key('busy-1'))).status).toBe(201);

    // the same key from another caller is its own request
    const mine = await t.api('POST', '/v1/flows', flow('caller'), key('shared'));
    const theirs = await t.api('POST', '/v1/flows', flow('caller'), { ...key('shared'), key: t.keys.noopOnly });
    expect(mine.status).toBe(202);
    expect(theirs.status).toBe(202);
    expect(theirs.headers.get('idempotent-replayed')).toBeNull();
    expect(theirs.body.id).not.toBe(mine.body.id);

    const doc = (await t.api('GET', '/v1/openapi.json')).body;
    for (const [path, method] of [
      ['/v1/flows', 'post'],
      ['/v1/webhooks', 'post'],
      ['/v1/webhooks/{id}/rotate-secret', 'post'],
      ['/v1/schedules/{name}/run', 'post'],
      ['/v1/jobs/actions', 'post'],
      ['/v1/dead-letters/{id}/replay', 'post'],
    ] as const) {
      const params = (doc.paths[path]?.[method]?.parameters ?? []) as { name: string; in: string }[];
      expect(params, `${method} ${path}`).toContainEqual(expect.objectContaining({ name: 'Idempotency-Key', in: 'header' }));
      expect(Object.keys(doc.paths[path][method].responses)).toEqual(expect.arrayContaining(['409', '422']));
    }
    // routes that create nothing have no such header
    const get = (doc.paths['/v1/webhooks'].get.parameters ?? []) as { name: string }[];
    expect(get.map((p) => p.name)).not.toContain('Idempotency-Key');
  });

  it('a record write that fails is tried again while the claim holds: the retry waits (409), then replays; one flow', async () => {
    const t = await setup({ engine });
    // the real ledger, its first two record writes refused as a store blip would (the routes build their
    // ledger on first use, so they get this one)
    const real = t.backend.ledger.bind(t.backend) as typeof t.backend.ledger;
    let refusals = 2;
    t.backend.ledger = (<R extends object>(name: string, opts: { ttlSeconds: number }): OnceLedger<R> => {
      const l = real<R>(name, opts);
      return {
        begin: (k, lease) => l.begin(k, lease),
        release: (k, token) => l.release(k, token),
        get: (k) => l.get(k),
        commit: async (k, r) => {
          if (refusals > 0) {
            refusals--;
            throw new Error('record write refused (injected store blip)');
          }
          return l.commit(k, r);
        },
      };
    }) as typeof t.backend.ledger;

    const first = await t.api('POST', '/v1/flows', flow('blip'), key('blip-1'));
    expect(first.status, JSON.stringify(first.body)).toBe(202);
    // until the record lands a retry is told the first is still running, never that it may go again
    const waited: Api[] = [];
    const again = await waitFor(
      async () => {
        const r = await t.api('POST', '/v1/flows', flow('blip'), key('blip-1'));
        if (r.status !== 409) return r;
        waited.push(r);
        return undefined;
      },
      { what: 'the retry answered from the record', timeoutMs: 15_000, intervalMs: 100 },
    );
    for (const w of waited) {
      expect(w.body.error.details[0].path).toBe('Idempotency-Key');
      expect(w.headers.get('retry-after')).toMatch(/^\d+$/);
    }
    expect(again.status, JSON.stringify(again.body)).toBe(202);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body).toEqual(first.body);
    expect(refusals).toBe(0);
    expect(await jobsWithNote(t, 'blip')).toHaveLength(1);

    // the audit log tells the replay from the call that made the flow
    const audit = await t.api('GET', '/v1/audit?action=flow.create&limit=100');
    expect(audit.status).toBe(200);
    const entries = audit.body.entries as { status: number; detail?: { replayed?: boolean } }[];
    const ok = entries.filter((e) => e.status === 202);
    expect(ok.filter((e) => e.detail?.replayed !== true)).toHaveLength(1);
    expect(ok.filter((e) => e.detail?.replayed === true).length).toBeGreaterThanOrEqual(1);
  });

  it('a ledger that does not answer: 503 + Retry-After within the store deadline, nothing made', async () => {
    const t = await setup({ engine, STORE_TIMEOUT_MS: '300' });
    // the routes build their ledger on first use: from now on it is a store that never answers
    const hung: OnceLedger<IdempotentRecord> = {
      begin: () => new Promise(() => {}),
      commit: () => new Promise(() => {}),
      release: () => new Promise(() => {}),
      get: () => new Promise(() => {}),
    };
    t.backend.ledger = (() => hung) as typeof t.backend.ledger;
    const started = performance.now();
    const r = await t.api('POST', '/v1/flows', flow('hung'), key('hung-1'));
    const took = performance.now() - started;
    expect(r.status).toBe(503);
    expect(r.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(took).toBeLessThan(3_000);
    expect(await jobsWithNote(t, 'hung')).toHaveLength(0);
    // without the header the ledger is not asked
    expect((await t.api('POST', '/v1/flows', flow('hung'))).status).toBe(202);
  });
});
