// Store and web faults with enqueue traffic running: Redis crashed and restarted from its AOF (BullMQ),
// PostgreSQL restarted fast and immediate (pg-boss), the web SIGKILLed during bulk batches. Single
// enqueues carry no idempotency key and are retried after the fault as a naive client would: a refusal
// whose job was stored anyway shows up as a duplicate.
import { sleep } from '../harness.ts';
import type { EngineName, Platform } from '../platform.ts';
import { Ledger, nextPause, resultOf, retryAfterMs, retryUnacked, type Scenario, type ScenarioContext } from '../scenario.ts';
import { type Answer, bad5xx, ok, Stream, windowStats } from '../traffic.ts';

const noop = (key: string) => ({ name: 'diagnostics.noop', data: { note: key } });

/** 25 enqueues/s and a /readyz probe every 500 ms; `fault` runs 2 s in and resolves when the store is back. */
async function underStoreFault(ctx: ScenarioContext, name: string, fault: () => Promise<void>) {
  const { platform, answers, log } = ctx;
  const { api } = platform;
  const L = new Ledger(name);
  const stream = new Stream(25, async (i) => {
    const k = L.key(i);
    L.take(await api.enqueue(noop(k), k));
  });
  const probe = new Stream(2, () => api.readyz());
  const before = Date.now();
  await sleep(2_000);
  const from = Date.now();
  await fault();
  const to = Date.now();
  log(`store back after ${to - from} ms`);
  await sleep(3_000); // answers just after the store is back count too (dead pooled connections)
  await Promise.all([stream.stop(), probe.stop()]);
  const retry = await retryUnacked(L, (k) => api.enqueue(noop(k), k), 60_000);
  const settle = await platform.settle('default', L.prefix, L.acked, 90_000);
  const inv = await platform.inventory('default', L.prefix);
  const mine = answers();
  const enqueues = mine.filter((a) => a.key !== 'readyz');
  return resultOf(L, inv, enqueues, { from, to, before }, settle, {
    readyz: windowStats(
      mine.filter((a) => a.key === 'readyz'),
      from,
      to,
    ),
    notes: [
      `store down ${to - from} ms; ${enqueues.filter((a) => a.startedAt > to && bad5xx(a)).length} of the 5xx came after it was back`,
      `${retry.rounds} retry rounds for refused or unanswered enqueues`,
    ],
  });
}

export const redisRestart: Scenario = {
  name: 'redis-restart',
  skip: (engine: EngineName) => (engine === 'bullmq' ? undefined : 'the pg-boss engine keeps no jobs in Redis'),
  run: (ctx) =>
    underStoreFault(ctx, 'redis', async () => {
      const redis = ctx.services.redis!;
      await redis.crash();
      await sleep(5_000 * ctx.scale);
      await redis.start();
    }),
};

const postgresRestart = (mode: 'fast' | 'immediate'): Scenario => ({
  name: `postgres-restart-${mode}`,
  skip: (engine: EngineName) => (engine === 'pgboss' ? undefined : 'the BullMQ engine keeps no jobs in PostgreSQL'),
  run: (ctx) => underStoreFault(ctx, `pg${mode}`, () => ctx.services.postgres!.restart(mode)),
});
export const postgresRestartFast = postgresRestart('fast');
export const postgresRestartImmediate = postgresRestart('immediate');

const BATCH = 500;
const keyed = (key: string) => ({ name: 'diagnostics.noop', data: { note: key }, options: { idempotencyKey: key } });

/** Three clients send keyed bulk batches back to back until the web dies under them. */
async function bulkUntilKilled(platform: Platform, L: Ledger, batches: Map<number, string[]>, answered: Set<number>, next: { n: number }) {
  let dead = false;
  const client = async () => {
    while (!dead) {
      const b = next.n++;
      const keys = Array.from({ length: BATCH }, (_, i) => L.key(b * BATCH + i));
      batches.set(b, keys);
      const a = L.take(await platform.api.request('POST', '/v1/jobs/bulk', { jobs: keys.map(keyed) }, `batch-${b}`), keys);
      if (ok(a)) answered.add(b);
      else dead = true;
    }
  };
  const clients = [client(), client(), client()];
  await sleep(300 + Math.random() * 1_200);
  const killedAt = Date.now();
  const killing = platform.web.kill('SIGKILL');
  dead = true;
  await Promise.all([...clients, killing]);
  return killedAt;
}

export const webKillBulk: Scenario = {
  name: 'web-kill-bulk',
  skip: () => undefined,
  async run({ platform, scale, log, answers }) {
    const L = new Ledger('webkill');
    const batches = new Map<number, string[]>();
    const answered = new Set<number>();
    const next = { n: 0 };
    const windows: { from: number; to: number }[] = [];
    for (let round = 0; round < 2 * scale; round++) {
      const from = await bulkUntilKilled(platform, L, batches, answered, next);
      await platform.restartWeb();
      windows.push({ from, to: Date.now() });
    }
    const unanswered = [...batches.keys()].filter((b) => !answered.has(b));
    // before any retry: what did the dead web leave of each unanswered batch?
    const before = await platform.inventory('default', L.prefix);
    const storedBefore = new Set(before.jobs.map((j) => j.key));
    const parts = unanswered.map((b) => batches.get(b)!.filter((k) => storedBefore.has(k)).length);
    const partial = parts.filter((n) => n > 0 && n < BATCH).length;
    log(`${unanswered.length} unanswered batches: stored ${parts.join(', ')} of ${BATCH}`);
    // retry each unanswered batch whole, with the same keys, until it is answered
    let createdFalseNotStored = 0;
    const deadline = Date.now() + 120_000;
    for (const b of unanswered) {
      const keys = batches.get(b)!;
      let a: Answer | undefined;
      for (let round = 0; Date.now() < deadline && !(a && ok(a)); round++) {
        if (a) await sleep(nextPause(round, retryAfterMs(a), deadline));
        a = L.take(await platform.api.request('POST', '/v1/jobs/bulk', { jobs: keys.map(keyed) }, `retry-${b}`), keys);
      }
      if (a && ok(a)) {
        createdFalseNotStored += (a.body.jobs as { created: boolean }[]).filter((j, i) => !j.created && !storedBefore.has(keys[i]!)).length;
      }
    }
    const settle = await platform.settle('default', L.prefix, L.acked, 120_000);
    const inv = await platform.inventory('default', L.prefix);
    const mine = answers();
    // in flight at the kill or sent while the web was down
    const inWindow = mine.filter((a) => windows.some((w) => a.startedAt + a.ms >= w.from && a.startedAt <= w.to));
    const failures: string[] = [];
    if (createdFalseNotStored > 0)
      failures.push(`${createdFalseNotStored} retried jobs answered created: false although they were not stored`);
    const last = windows[windows.length - 1] ?? { from: 0, to: 0 };
    const r = resultOf(L, inv, mine, last, settle, {
      partialBatches: partial,
      failures,
      notes: [
        `${windows.length} web SIGKILLs, ${batches.size} batches of ${BATCH}, ${unanswered.length} unanswered, ${partial} of them stored in part`,
      ],
    });
    return { ...r, outage: windowStats(inWindow, 0, Number.POSITIVE_INFINITY) };
  },
};
