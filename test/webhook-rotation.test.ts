// Rotating a webhook subscription's signing secret (POST /v1/webhooks/:id/rotate-secret, docs/webhooks.md
// "Rotating a secret") on both engines, against a real HTTP receiver, every delivery checked with the
// standardwebhooks library's verify(): before a rotation only the old secret verifies; during the grace a
// delivery verifies with the old AND with the new; after a rotation with graceSeconds 0 the old is refused.
import { randomBytes } from 'node:crypto';
import { expect, it } from 'vitest';
import { deliveryJobId, messageIdOf, webhookEvents } from '../core/outbound/events.ts';
import { secretProblem } from '../core/outbound/index.ts';
import type { AuditEntry } from '../core/stores.ts';
import { describeEngines } from './engines.ts';
import { type TestPlatform, waitFor } from './helpers.ts';
import { spawnConveyor } from './processes.ts';
import { type Delivery, enqueue, platform, type Receiver, receiver, secret, verifies } from './webhook-helpers.ts';

const fresh = () => `whsec_${randomBytes(32).toString('base64')}`;
/** how many signatures webhook-signature carries (`v1,<a> v1,<b>`) */
const signatures = (d: Delivery) => String(d.headers['webhook-signature']).split(' ').length;
const HOUR = 3600;

async function subscribe(t: TestPlatform, rx: Receiver, body: Record<string, unknown> = {}) {
  const res = await t.api('POST', '/v1/webhooks', { url: rx.url, kinds: ['diagnostics.noop'], ...body });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  rx.useSecret(res.body.secret);
  return res.body.id as string;
}

/** a platform, a receiver, and its subscription to noop jobs signed with `old` (rx verifies with it) */
async function subscribed(engine: 'bullmq' | 'pgboss', status?: (n: number) => number) {
  const t = await platform(engine);
  const rx = await receiver(0, status);
  const old = fresh();
  return { t, rx, old, id: await subscribe(t, rx, { secret: old }) };
}

const rotate = (t: TestPlatform, id: string, body?: unknown, opts?: Parameters<TestPlatform['api']>[3]) =>
  t.api('POST', `/v1/webhooks/${id}/rotate-secret`, body, opts);

/** a noop job's job.completed as `rx` accepted it (verified with the secret it holds) */
async function delivered(t: TestPlatform, rx: Receiver, what: string): Promise<Delivery> {
  const job = await enqueue(t, 'diagnostics.noop', {});
  return waitFor(async () => rx.got.find((d) => d.event.data.id === job), { what, timeoutMs: 20_000 });
}

/** the answer's previousSecretExpiresAt is `graceSeconds` after the rotation, which happened in [before, after] */
function expectExpiry(at: string, before: number, after: number, graceSeconds: number) {
  expect(Date.parse(at)).toBeGreaterThanOrEqual(before + graceSeconds * 1000);
  expect(Date.parse(at)).toBeLessThanOrEqual(after + graceSeconds * 1000);
}

describeEngines('webhook secret rotation', { timeout: 90_000 }, (engine) => {
  it('during the grace a delivery verifies with the old and the new secret; a second rotation replaces the previous; graceSeconds 0 drops it', async () => {
    const { t, rx, old, id } = await subscribed(engine);

    const d0 = await delivered(t, rx, 'the delivery before the rotation');
    expect([verifies(d0, old), verifies(d0, secret), signatures(d0)]).toEqual([true, false, 1]);
    expect((await t.api('GET', `/v1/webhooks/${id}`)).body).not.toHaveProperty('previousSecretExpiresAt');

    const before = Date.now();
    const r1 = await rotate(t, id, { graceSeconds: HOUR });
    const after = Date.now();
    expect(r1.status, JSON.stringify(r1.body)).toBe(200);
    expect(r1.body).toMatchObject({ id, url: rx.url, kinds: ['diagnostics.noop'], signedWith: 'subscription' });
    const second = r1.body.secret as string;
    expect(secretProblem(second)).toBeUndefined();
    expect(second).not.toBe(old);
    expectExpiry(r1.body.previousSecretExpiresAt, before, after, HOUR);
    expect(JSON.stringify(r1.body)).not.toContain(old); // the old secret is never answered
    // GET shows the grace, never a secret
    const got = await t.api('GET', `/v1/webhooks/${id}`);
    expect(got.body).toMatchObject({ id, signedWith: 'subscription', previousSecretExpiresAt: r1.body.previousSecretExpiresAt });
    const list = await t.api('GET', '/v1/webhooks');
    expect(list.body.subscriptions[0].previousSecretExpiresAt).toBe(r1.body.previousSecretExpiresAt);
    expect(JSON.stringify([got.body, list.body])).not.toContain('whsec_');

    // rx still verifies with the old secret: a receiver that has not switched yet accepts the delivery
    const d1 = await delivered(t, rx, 'a delivery during the grace');
    expect([verifies(d1, old), verifies(d1, second), signatures(d1)]).toEqual([true, true, 2]);

    // a second rotation during the grace: the current becomes the previous, the oldest is gone
    const third = fresh();
    const r2 = await rotate(t, id, { secret: third, graceSeconds: HOUR });
    expect(r2.status, JSON.stringify(r2.body)).toBe(200);
    expect(r2.body.secret).toBe(third);
    rx.useSecret(second);
    const d2 = await delivered(t, rx, 'a delivery after the second rotation');
    expect([verifies(d2, old), verifies(d2, second), verifies(d2, third), signatures(d2)]).toEqual([false, true, true, 2]);

    // graceSeconds 0: the previous is dropped at once; a receiver still on it refuses the delivery
    rx.useSecret(third);
    const r3 = await rotate(t, id, { graceSeconds: 0 });
    expect(r3.status, JSON.stringify(r3.body)).toBe(200);
    expect(r3.body.previousSecretExpiresAt).toBeNull();
    const fourth = r3.body.secret as string;
    expect([old, second, third]).not.toContain(fourth);
    expect((await t.api('GET', `/v1/webhooks/${id}`)).body).not.toHaveProperty('previousSecretExpiresAt');
    const refusedBefore = rx.unverified();
    const accepted = rx.got.length;
    const job = await enqueue(t, 'diagnostics.noop', {});
    await waitFor(() => rx.unverified() > refusedBefore, { what: 'the delivery refused by the old secret', timeoutMs: 20_000 });
    expect(rx.got.length).toBe(accepted);
    rx.useSecret(fourth); // the receiver switches: the retry verifies
    const d3 = await waitFor(async () => rx.got.find((d) => d.event.data.id === job), { what: 'the retry verified', timeoutMs: 20_000 });
    expect([verifies(d3, third), verifies(d3, fourth), signatures(d3)]).toEqual([false, true, 1]);
    await rx.close();
  });

  it('a subscription signed with SIGNING_SECRET gets its own secret; SIGNING_SECRET signs beside it for the default grace (a day)', async () => {
    const t = await platform(engine);
    const rx = await receiver(); // verifies with SIGNING_SECRET
    const events = webhookEvents(t.backend, t.config);
    const id = `whs_${randomBytes(12).toString('hex')}`;
    // as a subscription made before subscriptions had secrets is stored
    await events.store.put({
      name: id,
      url: rx.url,
      events: [],
      kinds: ['diagnostics.noop'],
      queues: [],
      createdAt: new Date().toISOString(),
    });
    events.invalidate();
    expect((await t.api('GET', `/v1/webhooks/${id}`)).body).toMatchObject({ id, signedWith: 'SIGNING_SECRET' });
    const d0 = await delivered(t, rx, 'the delivery before the rotation');
    expect([verifies(d0, secret), signatures(d0)]).toEqual([true, 1]);

    const before = Date.now();
    const r = await rotate(t, id); // no body at all
    const after = Date.now();
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const own = r.body.secret as string;
    expect(secretProblem(own)).toBeUndefined();
    expect(own).not.toBe(secret);
    expect(r.body.signedWith).toBe('subscription');
    expectExpiry(r.body.previousSecretExpiresAt, before, after, 86_400);
    expect(JSON.stringify(r.body)).not.toContain(secret);
    expect((await t.api('GET', `/v1/webhooks/${id}`)).body).toMatchObject({ signedWith: 'subscription' });

    const d1 = await delivered(t, rx, 'a delivery during the grace');
    expect([verifies(d1, secret), verifies(d1, own), signatures(d1)]).toEqual([true, true, 2]);
    await rx.close();
  });

  it('after the grace only the new secret signs, and GET no longer shows previousSecretExpiresAt', async () => {
    const { t, rx, old, id } = await subscribed(engine);
    const r = await rotate(t, id, { graceSeconds: HOUR });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    // the grace ends: the record as a rotation an hour ago left it (no waiting an hour)
    const events = webhookEvents(t.backend, t.config);
    const stored = await events.store.get(id);
    expect(stored?.previousSecret).toBe(old);
    await events.store.put({ ...stored!, previousSecretExpiresAt: new Date(Date.now() - 1_000).toISOString() });
    expect((await t.api('GET', `/v1/webhooks/${id}`)).body).not.toHaveProperty('previousSecretExpiresAt');
    rx.useSecret(r.body.secret);
    const d = await delivered(t, rx, 'a delivery after the grace');
    expect([verifies(d, old), verifies(d, r.body.secret), signatures(d)]).toEqual([false, true, 1]);
    await rx.close();
  });

  it('rotations at once chain (each keeps the one before as its previous); one racing a delete does not bring it back', async () => {
    const { t, rx, old, id } = await subscribed(engine);
    const secrets = Array.from({ length: 6 }, () => fresh());
    const answers = await Promise.all(secrets.map((secret) => rotate(t, id, { secret, graceSeconds: HOUR })));
    for (const a of answers) expect(a.status, JSON.stringify(a.body)).toBe(200);
    // read-modify-write without compare-and-set: every rotation reads `old` and the last write wins, so
    // the previous is `old` and five callers hold secrets that sign nothing
    const stored = await webhookEvents(t.backend, t.config).store.get(id);
    expect(secrets).toContain(stored?.secret);
    expect(secrets).toContain(stored?.previousSecret);
    expect(stored?.previousSecret).not.toBe(stored?.secret);
    expect(stored?.previousSecret).not.toBe(old);

    // deleted while rotations are in flight: afterwards it stays deleted, and late rotations answer 404
    const racing = Array.from({ length: 4 }, () => rotate(t, id, { graceSeconds: HOUR }));
    const removed = await t.api('DELETE', `/v1/webhooks/${id}`);
    expect(removed.status).toBe(204);
    for (const a of await Promise.all(racing)) expect([200, 404]).toContain(a.status);
    expect((await t.api('GET', `/v1/webhooks/${id}`)).status).toBe(404);
    expect(await webhookEvents(t.backend, t.config).store.get(id)).toBeNull();
    await rx.close();
  });

  it('a retry after the rotation is signed with the current secret (read at delivery time)', async () => {
    let up = false;
    const { t, rx, old, id } = await subscribed(engine, () => (up ? 200 : 500));
    const job = await enqueue(t, 'diagnostics.noop', {});
    await waitFor(() => rx.requests() > 0, { what: 'the first attempt (answered 500)', timeoutMs: 20_000 });
    expect(verifies(rx.all[0] as Delivery, old)).toBe(true);
    const r = await rotate(t, id, { graceSeconds: 0 });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    rx.useSecret(r.body.secret);
    up = true;
    const d = await waitFor(async () => rx.got.find((x) => x.event.data.id === job), { what: 'the retry delivered', timeoutMs: 20_000 });
    expect(d.id).toBe(messageIdOf(job, 'job.completed'));
    expect([verifies(d, old), verifies(d, r.body.secret), signatures(d)]).toEqual([false, true, 1]);
    const delivery = await waitFor(
      async () => {
        const j = await t.engine.getJob(deliveryJobId(messageIdOf(job, 'job.completed'), id));
        return j?.state === 'completed' ? j : undefined;
      },
      { what: 'the delivery job completed' },
    );
    expect((delivery.result as { attempt: number }).attempt).toBeGreaterThanOrEqual(2);
    await rx.close();
  });

  it('a worker process signs with the rotated secrets: it reads them from the store at delivery time', async () => {
    const env = { WEBHOOK_RETRY_BASE_MS: '50', WEBHOOK_RETRY_CAP_MS: '300', WEBHOOKS_RELOAD_MS: '100' };
    const t = await platform(engine, env, { default: 10 }); // this process delivers nothing
    const worker = spawnConveyor('worker', {
      ...t.env,
      ...env,
      HTTP_TARGET_ALLOWLIST: '127.0.0.1',
      SIGNING_SECRET: secret,
      WORKER_QUEUES: 'webhooks',
    });
    await worker.waitForLog((l) => l.msg === 'consuming' && l.queue === 'webhooks', 'worker consuming webhooks', 40_000);
    const rx = await receiver();
    const old = fresh();
    const id = await subscribe(t, rx, { secret: old });
    const d0 = await delivered(t, rx, 'the worker process’s delivery before the rotation');
    expect(signatures(d0)).toBe(1);
    const r = await rotate(t, id, { graceSeconds: HOUR });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const d1 = await delivered(t, rx, 'the worker process’s delivery after the rotation');
    expect([verifies(d1, old), verifies(d1, r.body.secret), signatures(d1)]).toEqual([true, true, 2]);
    await rx.close();
  });

  it('400 naming secret or graceSeconds, 404 for an unknown id, 403 without admin, 415 for a non-JSON body: none rotates', async () => {
    const { t, rx, old, id } = await subscribed(engine);
    const bad: [unknown, string][] = [
      [{ secret: 'nope' }, 'secret'],
      [{ secret: 'whsec_' }, 'secret'],
      [{ secret: `whsec_${randomBytes(8).toString('base64')}` }, 'secret'],
      [{ secret: 42 }, 'secret'],
      [{ secret: old }, 'secret'], // the current one: a rotation to it would drop nothing but the grace
      [{ graceSeconds: -1 }, 'graceSeconds'],
      [{ graceSeconds: 604_801 }, 'graceSeconds'],
      [{ graceSeconds: 1.5 }, 'graceSeconds'],
      [{ graceSeconds: '60' }, 'graceSeconds'],
      [{ graceSeconds: null }, 'graceSeconds'],
    ];
    for (const [body, field] of bad) {
      const r = await rotate(t, id, body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(
        r.body.error.details.map((d: { path: string }) => d.path),
        JSON.stringify(body),
      ).toEqual([field]);
    }
    expect((await rotate(t, id, { grace: 60 })).status).toBe(400);
    expect((await rotate(t, 'whs_nope', {})).status).toBe(404);
    expect((await rotate(t, 'whs_nope', { graceSeconds: 0 })).body.error.code).toBe('not_found');
    expect((await rotate(t, id, {}, { key: t.keys.noopOnly })).status).toBe(403);
    expect((await rotate(t, 'whs_nope', {}, { key: t.keys.noopOnly })).status).toBe(403);
    expect((await rotate(t, id, 'graceSeconds=0', { headers: { 'content-type': 'text/plain' } })).status).toBe(415);
    // nothing rotated: one signature, with the first secret
    expect((await t.api('GET', `/v1/webhooks/${id}`)).body).not.toHaveProperty('previousSecretExpiresAt');
    const d = await delivered(t, rx, 'a delivery after the refused rotations');
    expect([verifies(d, old), signatures(d)]).toEqual([true, 1]);
    // the bounds themselves are accepted
    const longest = await rotate(t, id, { graceSeconds: 604_800 });
    expect(longest.status, JSON.stringify(longest.body)).toBe(200);
    await rx.close();
  });

  it('Idempotency-Key: a retried rotation answers the same secret and rotates once; audited as webhook.rotate, no secret in the log', async () => {
    const { t, rx, old, id } = await subscribed(engine);
    const headers = (requestId: string) => ({ headers: { 'Idempotency-Key': 'rotate-1', 'x-request-id': requestId } });
    const first = await rotate(t, id, { graceSeconds: HOUR }, headers('rot-1'));
    const again = await rotate(t, id, { graceSeconds: HOUR }, headers('rot-2'));
    expect([first.status, again.status]).toEqual([200, 200]);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body).toEqual(first.body);
    const other = await rotate(t, id, { graceSeconds: 0 }, headers('rot-3'));
    expect(other.status).toBe(422);
    // rotated once: the old secret still signs beside the one answered (twice would have dropped it)
    const d = await delivered(t, rx, 'a delivery after the retried rotation');
    expect([verifies(d, old), verifies(d, first.body.secret), signatures(d)]).toEqual([true, true, 2]);

    const entries = (await t.api('GET', '/v1/audit?requestId=rot-1')).body.entries as AuditEntry[];
    expect(entries).toEqual([expect.objectContaining({ action: 'webhook.rotate', target: `webhook:${id}`, actor: 'admin', status: 200 })]);
    const denied = await rotate(t, id, {}, { key: t.keys.noopOnly, headers: { 'x-request-id': 'rot-4' } });
    expect(denied.status).toBe(403);
    const deniedEntries = (await t.api('GET', '/v1/audit?requestId=rot-4')).body.entries as AuditEntry[];
    expect(deniedEntries).toEqual([expect.objectContaining({ action: 'webhook.rotate', actor: 'noop-only', status: 403 })]);
    expect(JSON.stringify((await t.api('GET', '/v1/audit?action=webhook.rotate')).body)).not.toContain('whsec_');
    await rx.close();
  });
});
