// Store and web faults with enqueue traffic running: Redis crashed and restarted from its AOF (BullMQ),
// PostgreSQL restarted fast and immediate (pg-boss), the web SIGKILLed during bulk batches. Single
// enqueues carry no idempotency key and are retried after the fault as a naive client would: a refusal
// whose job was stored anyway shows up as a duplicate.
import { sleep, waitFor } from '../harness.ts';
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
  // a baseline before the fault: the stream and the probe have answered a few times
  await waitFor(() => stream.answered >= 20 && probe.answered >= 2, { timeoutMs: 30_000, what: 'baseline answers' });
  const from = Date.now();
  await fault();
  const to = Date.now();
  log(`store back after ${to - from} ms`);
  // answers just after the store is back count too (dead pooled connections): the next 30 of the stream
  const back = stream.answered;
  await waitFor(() => stream.answered >= back + 30, { timeoutMs: 30_000, what: 'answers after the store is back' });
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
async function bulkUntilKilled(
  platform: Platform,
  L: Ledger,
  batches: Map<number, string[]>,
  answered: Set<number>,
  next: { n: number },
  refused: Map<number, Answer>,
) {
  let dead = false;
  const client = async () => {
    while (!dead) {
      const b = next.n++;
      const keys = Array.from({ length: BATCH }, (_, i) => L.key(b * BATCH + i));
      batches.set(b, keys);
      const a = L.take(await platform.api.request('POST', '/v1/jobs/bulk', { jobs: keys.map(keyed) }, `batch-${b}`), keys);
      if (ok(a)) answered.add(b);
      else {
        refused.set(b, a);
        dead = true;
      }
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

interface Retried {
  keys: string[];
  /** the answers of the retries of one batch, the last one ok (or the deadline passed) */
  answers: Answer[];
}

/** Retry each unanswered batch whole, with the same keys, until it is answered. */
async function retryBatches(platform: Platform, L: Ledger, unanswered: number[], batches: Map<number, string[]>, log: (l: string) => void) {
  const out: Retried[] = [];
  const deadline = Date.now() + 120_000;
  for (const b of unanswered) {
    const keys = batches.get(b)!;
    const answers: Answer[] = [];
    for (let round = 0; Date.now() < deadline && !answers.some(ok); round++) {
      if (round > 0) await sleep(nextPause(round, retryAfterMs(answers[round - 1]!), deadline));
      answers.push(L.take(await platform.api.request('POST', '/v1/jobs/bulk', { jobs: keys.map(keyed) }, `retry-${b}`), keys));
    }
    out.push({ keys, answers });
  }
  log(`retries: ${out.map((r) => r.answers.map((a) => a.status).join('/')).join(', ')}`);
  return out;
}

/**
 * What the retries' answers say. An ok answer is atomic (one MULTI / one transaction): its created: false jobs
 * are exactly the batch's jobs stored before it, so it, not the scan, tells whether the dead web stored a batch
 * whole. A created: false job not stored after the retry is a lie; one the scan had not seen is stored by a
 * refused earlier attempt of that retry (when there was one) or was missed by the scan (when there was none).
 */
function countRetries(retried: Retried[], storedBefore: Set<string>, storedAfter: Set<string>) {
  const c = {
    partial: 0,
    falseNotStored: 0,
    storedByRefusal: 0,
    scanMissed: 0,
    trueButScanned: 0,
    existed: [] as number[],
    scanned: [] as number[],
  };
  for (const { keys, answers } of retried) {
    const last = answers[answers.length - 1];
    const scanned = keys.filter((k) => storedBefore.has(k)).length;
    c.scanned.push(scanned);
    const firstTry = answers.length === 1 && last !== undefined && ok(last);
    // a refused attempt may have stored jobs itself: then only the scan tells what the dead web left
    if (!firstTry && scanned > 0 && scanned < keys.length) c.partial++;
    if (!last || !ok(last)) continue;
    const jobs = last.body.jobs as { created: boolean }[];
    const existed = keys.filter((_, i) => !jobs[i]?.created);
    c.existed.push(existed.length);
    if (firstTry && existed.length > 0 && existed.length < keys.length) c.partial++;
    for (const k of existed) {
      if (!storedAfter.has(k)) c.falseNotStored++;
      else if (!storedBefore.has(k)) firstTry ? c.scanMissed++ : c.storedByRefusal++;
    }
    c.trueButScanned += keys.filter((k, i) => jobs[i]?.created && storedBefore.has(k)).length;
  }
  return c;
}

export const webKillBulk: Scenario = {
  name: 'web-kill-bulk',
  skip: () => undefined,
  async run({ platform, scale, log, answers }) {
    const L = new Ledger('webkill');
    const batches = new Map<number, string[]>();
    const answered = new Set<number>();
    const next = { n: 0 };
    const refused = new Map<number, Answer>();
    const windows: { from: number; to: number }[] = [];
    for (let round = 0; round < 2 * scale; round++) {
      const from = await bulkUntilKilled(platform, L, batches, answered, next, refused);
      await platform.restartWeb();
      windows.push({ from, to: Date.now() });
    }
    const unanswered = [...batches.keys()].filter((b) => !answered.has(b));
    log(`${unanswered.length} unanswered: ${unanswered.map((b) => `${refused.get(b)?.status} after ${refused.get(b)?.ms} ms`).join(', ')}`);
    // before any retry: what the scan of the store sees of each unanswered batch (a hint only: on BullMQ it
    // reads the lists one after the other while workers move jobs between them, so it can miss jobs)
    const storedBefore = new Set((await platform.inventory('default', L.prefix)).jobs.map((j) => j.key));
    const retry = await retryBatches(platform, L, unanswered, batches, log);
    const storedAfter = new Set((await platform.inventory('default', L.prefix)).jobs.map((j) => j.key));
    const c = countRetries(retry, storedBefore, storedAfter);
    log(`retried batches found ${c.existed.join(', ')} of ${BATCH} stored; the scan had seen ${c.scanned.join(', ')}`);
    const settle = await platform.settle('default', L.prefix, L.acked, 120_000);
    const inv = await platform.inventory('default', L.prefix);
    const mine = answers();
    // in flight at the kill or sent while the web was down
    const inWindow = mine.filter((a) => windows.some((w) => a.startedAt + a.ms >= w.from && a.startedAt <= w.to));
    const failures: string[] = [];
    if (c.falseNotStored > 0) failures.push(`${c.falseNotStored} retried jobs answered created: false although they are not stored`);
    if (c.storedByRefusal > 0) failures.push(`${c.storedByRefusal} jobs stored by a retry that was answered with a refusal`);
    if (c.trueButScanned > 0) failures.push(`${c.trueButScanned} retried jobs answered created: true although stored before the retry`);
    const last = windows[windows.length - 1] ?? { from: 0, to: 0 };
    const r = resultOf(L, inv, mine, last, settle, {
      partialBatches: c.partial,
      failures,
      notes: [
        `${windows.length} web SIGKILLs, ${batches.size} batches of ${BATCH}, ${unanswered.length} unanswered, ${c.partial} of them stored in part`,
        `the pre-retry scan missed ${c.scanMissed} jobs the retries found stored (not a failure: the answer is atomic, the scan is not)`,
      ],
    });
    return { ...r, outage: windowStats(inWindow, 0, Number.POSITIVE_INFINITY) };
  },
};
