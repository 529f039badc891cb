// Bulk enqueue is all or nothing under a crash (issue 12): a real web process (processes/web.ts) is SIGKILLed
// while three clients send keyed bulk batches of 500 jobs over two queues, several times over; every batch the
// dead web never answered is then looked up in the store job by job: each is stored whole or not at all
// (BullMQ: one MULTI per request; pg-boss: one transaction). Batches it answered 202 are whole by their answer.
import { expect, it } from 'vitest';
import type { Engine } from '../core/engine.ts';
import { idempotencyJobId } from '../core/engines/bullmq/jobs.ts';
import { idempotencyUuid } from '../core/engines/pgboss/ids.ts';
import { describeEngines } from './engines.ts';
import { type EngineName, setup, waitFor } from './helpers.ts';
import { spawnConveyor } from './processes.ts';

const BATCH = 500;
const ROUNDS = 3;

/** job i of batch b: mostly `default` queue jobs, every 50th on the `ops` queue (a bulk over two queues) */
function jobOf(b: number, i: number) {
  const key = `crash-${b}-${i}`;
  return i % 50 === 7
    ? { name: 'ops.retention-cleanup', data: { deadLetterMaxAgeSeconds: 3600 }, options: { idempotencyKey: key } }
    : { name: 'diagnostics.noop', data: { note: key }, options: { idempotencyKey: key } };
}

const storedId = (engine: EngineName, name: string, key: string) =>
  engine === 'bullmq' ? idempotencyJobId(name, key) : idempotencyUuid(name, key);

async function storedCount(engine: EngineName, store: Engine, b: number): Promise<number> {
  const found = await Promise.all(
    Array.from({ length: BATCH }, (_, i) => {
      const j = jobOf(b, i);
      return store.getJob(storedId(engine, j.name, j.options.idempotencyKey));
    }),
  );
  return found.filter(Boolean).length;
}

/**
 * A client that retries a 503 (the store slower than its deadline) a few times: each retry goes once the web's
 * /readyz answers 200 again (polled, at most its Retry-After), so no retry waits longer than the outage.
 */
async function postRetrying503(url: string, headers: Record<string, string>, body: string) {
  const readyz = new URL('/readyz', url).href;
  for (let i = 0; ; i++) {
    const res = await fetch(url, { method: 'POST', headers, body });
    if (res.status !== 503 || i === 5) return res;
    await res.body?.cancel();
    const hintMs = Math.min(1_000, Number(res.headers.get('retry-after') ?? 1) * 1_000);
    await waitFor(async () => (await fetch(readyz).catch(() => undefined))?.status === 200, { timeoutMs: hintMs, what: 'web ready' }).catch(
      () => undefined, // still not ready after the hint: retry anyway, as the hint says
    );
  }
}

describeEngines('bulk under a web crash', (engine) => {
  it('a web SIGKILLed mid-bulk leaves every batch stored whole or not at all', async () => {
    const t = await setup({ engine });
    const env = { ...t.env, API_KEYS: JSON.stringify(t.config.API_KEYS), PORT: '0', HOST: '127.0.0.1' };
    const headers = { authorization: `Bearer ${t.keys.admin}`, 'content-type': 'application/json' };
    const unanswered: number[] = [];
    const refused: number[] = [];
    let answered = 0;
    let next = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const web = spawnConveyor('web', env);
      const listening = await web.waitForLog((l) => String(l.msg).startsWith('web listening'), 'web listening', 40_000);
      const base = `http://127.0.0.1:${listening.port}`;
      let dead = false;
      const client = async () => {
        while (!dead) {
          const b = next++;
          const body = JSON.stringify({ jobs: Array.from({ length: BATCH }, (_, i) => jobOf(b, i)) });
          const status = await fetch(`${base}/v1/jobs/bulk`, { method: 'POST', headers, body })
            .then(async (res) => {
              await res.json();
              return res.status;
            })
            .catch(() => 0);
          if (status === 0) {
            unanswered.push(b); // the connection died with the web
            return;
          }
          // the store slower than STORE_TIMEOUT_MS (a loaded machine): refused, and checked below like an unanswered one
          if (status === 503) {
            refused.push(b);
            continue;
          }
          expect(status).toBe(202);
          answered++;
        }
      };
      const clients = [client(), client(), client()];
      // kill once a few batches went through, after more of them each round (the moment varies)
      const target = answered + 2 + 2 * round;
      await waitFor(() => answered >= target, { what: `${target} batches answered`, timeoutMs: 60_000, intervalMs: 5 });
      web.child.kill('SIGKILL');
      dead = true;
      await web.exited;
      await Promise.all(clients);
    }
    const partial: string[] = [];
    const storedBefore = new Map<number, number>();
    for (const b of [...unanswered, ...refused]) {
      const n = await storedCount(engine, t.engine, b);
      storedBefore.set(b, n);
      if (n !== 0 && n !== BATCH) partial.push(`batch ${b}: ${n} of ${BATCH}`);
    }
    console.log(
      `[${engine}] ${answered} batches answered, ${unanswered.length} unanswered, ${refused.length} refused (503), partial: ${partial.length}`,
    );
    expect(unanswered.length).toBeGreaterThan(0);
    expect(partial).toEqual([]);
    // a client retries each unanswered batch whole, same keys: the answer's created: false jobs are exactly
    // the jobs the dead web stored, and each names a stored job
    const web = spawnConveyor('web', env);
    const listening = await web.waitForLog((l) => String(l.msg).startsWith('web listening'), 'web listening', 40_000);
    const wrong: string[] = [];
    try {
      for (const b of unanswered) {
        const body = JSON.stringify({ jobs: Array.from({ length: BATCH }, (_, i) => jobOf(b, i)) });
        const res = await postRetrying503(`http://127.0.0.1:${listening.port}/v1/jobs/bulk`, headers, body);
        expect(res.status).toBe(202);
        const jobs = ((await res.json()) as { jobs: { id: string; created: boolean }[] }).jobs;
        const existed = jobs.filter((j) => !j.created);
        if (existed.length !== storedBefore.get(b))
          wrong.push(`batch ${b}: ${existed.length} created: false, ${storedBefore.get(b)} stored`);
        const found = await Promise.all(existed.map((j) => t.engine.getJob(j.id)));
        if (found.some((j) => !j)) wrong.push(`batch ${b}: ${found.filter((j) => !j).length} created: false not stored`);
        expect(await storedCount(engine, t.engine, b)).toBe(BATCH);
      }
    } finally {
      web.child.kill('SIGKILL');
      await web.exited;
    }
    expect(wrong).toEqual([]);
  }, 240_000);
});
