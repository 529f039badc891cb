// The web under a store outage, on both engines, against a private store this file owns (test/chaos/services.ts):
// a private redis-server (BullMQ) SIGKILLed and restarted, a private PostgreSQL (pg-boss) stopped, and restarted
// `-m fast` / `-m immediate` under requests. While the store is down every enqueue, bulk, read and /readyz answers
// 503 with Retry-After, within the deadline (STORE_TIMEOUT_MS, 1 s by default; the request is aborted at 3 s,
// far below the 4-10 s the offline queue used to hold it), and nothing is stored; once the store is back the
// same requests answer 2xx, none of them 500 (dead pooled connections are discarded, not reused).
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Harness } from './chaos/harness.ts';
import { PrivatePostgres, PrivateRedis } from './chaos/services.ts';
import { describeEngines } from './engines.ts';
import { type EngineName, setup, skipOn, type TestPlatform, waitFor } from './helpers.ts';

const h = new Harness();
let redis: PrivateRedis;
let postgres: PrivatePostgres;
beforeAll(async () => {
  [redis, postgres] = await Promise.all([PrivateRedis.start(h), PrivatePostgres.start(h)]);
}, 90_000);
afterAll(() => h.close(), 30_000);

/** the engine's private store as setup() overrides */
const storeOf = (engine: EngineName): Record<string, string> =>
  engine === 'bullmq' ? { REDIS_URL: redis.url } : { DATABASE_URL: postgres.url };

async function stopStore(engine: EngineName) {
  if (engine === 'bullmq') await redis.crash();
  else await postgres.proc?.kill('SIGINT'); // pg_ctl stop -m fast
}

async function startStore(engine: EngineName) {
  if (engine === 'bullmq') await redis.start();
  else await postgres.start();
}

interface Timed {
  status: number;
  retryAfter: string | null;
  ms: number;
  body: any;
}

/** A request that must answer: aborted (and the test failed) if it hangs for 3 s. */
async function timed(t: TestPlatform, method: string, path: string, body?: unknown): Promise<Timed> {
  const started = performance.now();
  const res = await fetch(t.baseUrl + path, {
    method,
    headers: { authorization: `Bearer ${t.keys.admin}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(3_000),
  });
  const text = await res.text();
  return {
    status: res.status,
    retryAfter: res.headers.get('retry-after'),
    ms: Math.round(performance.now() - started),
    body: text ? JSON.parse(text) : null,
  };
}

const job = (key: string) => ({ name: 'diagnostics.noop', data: { note: key }, options: { idempotencyKey: key } });

describeEngines('store outage', (engine) => {
  it('answers 503 + Retry-After fast while the store is down, stores nothing, and 2xx once it is back', async () => {
    const t = await setup({ engine, ...storeOf(engine) });
    const before = await timed(t, 'POST', '/v1/jobs', job('before'));
    expect(before.status).toBe(202);

    await stopStore(engine);
    const during: Timed[] = [];
    for (let i = 0; i < 6; i++) during.push(await timed(t, 'POST', '/v1/jobs', job(`during-${i}`)));
    during.push(await timed(t, 'POST', '/v1/jobs/bulk', { jobs: [job('bulk-a'), job('bulk-b')] }));
    during.push(await timed(t, 'GET', `/v1/jobs/${encodeURIComponent(before.body.id)}`));
    during.push(await timed(t, 'GET', '/v1/queues'));
    const readyz = await fetch(`${t.baseUrl}/readyz`, { signal: AbortSignal.timeout(3_000) });
    console.log(`[${engine}] answers while the store was down: ${during.map((d) => `${d.status}/${d.ms}ms`).join(' ')}`);
    for (const d of during) {
      expect(d.status).toBe(503);
      expect(d.retryAfter).toMatch(/^\d+$/);
      expect(d.body.error.code).toBe('store_unavailable');
    }
    expect(readyz.status).toBe(503);

    await startStore(engine);
    const back = await waitFor(
      async () => {
        const r = await timed(t, 'POST', '/v1/jobs', job('during-0'));
        expect(r.status).not.toBe(500);
        // 202: the refused request had stored nothing (BullMQ: the writer connection queued nothing offline)
        expect(r.status).not.toBe(200);
        return r.status === 202 && r;
      },
      { what: 'enqueue answers 202 again', timeoutMs: 20_000, intervalMs: 100 },
    );
    expect(back.body.id).not.toBe(before.body.id);
    const bulk = await timed(t, 'POST', '/v1/jobs/bulk', { jobs: [job('bulk-a'), job('bulk-b'), job('before')] });
    expect(bulk.status).toBe(202);
    // a 503 stored nothing: the refused bulk's jobs are made now, `before` was there already
    expect(bulk.body.jobs.map((j: { created: boolean }) => j.created)).toEqual([true, true, false]);
    expect((await timed(t, 'GET', '/readyz')).status).toBe(200);
  });

  it.for(['fast', 'immediate'] as const)('after a PostgreSQL restart -m %s no request answers 500', async (mode, ctx) => {
    skipOn(ctx, engine, 'bullmq', "a PostgreSQL restart is the pg-boss engine's fault; Redis going down and back is the test above");
    const t = await setup({ engine, ...storeOf(engine) });
    // fill both pools with idle connections, which the restart kills
    const warm = await Promise.all(Array.from({ length: 12 }, (_, i) => timed(t, 'POST', '/v1/jobs', job(`warm-${mode}-${i}`))));
    expect(warm.every((w) => w.status === 202)).toBe(true);
    await postgres.restart(mode);
    const after: Timed[] = [];
    for (let round = 0; round < 3; round++) {
      after.push(
        ...(await Promise.all(Array.from({ length: 12 }, (_, i) => timed(t, 'POST', '/v1/jobs', job(`after-${mode}-${round}-${i}`))))),
      );
      after.push(await timed(t, 'GET', `/v1/jobs/${encodeURIComponent(warm[0]?.body.id)}`));
    }
    const counts: Record<number, number> = {};
    for (const a of after) counts[a.status] = (counts[a.status] ?? 0) + 1;
    console.log(`[${engine}] answers right after restart -m ${mode}: ${JSON.stringify(counts)}`);
    expect(after.filter((a) => a.status >= 500 && a.status !== 503)).toEqual([]);
    for (const a of after.filter((x) => x.status === 503)) expect(a.retryAfter).toMatch(/^\d+$/);
    // and once the pools have replaced their connections, every request is served
    const last = await Promise.all(Array.from({ length: 12 }, (_, i) => timed(t, 'POST', '/v1/jobs', job(`last-${mode}-${i}`))));
    expect(last.map((l) => l.status)).toEqual(Array(12).fill(202));
  });
});
