// Worker faults: SIGKILL storms while jobs stream in, and a worker SIGTERMed while it runs jobs longer
// than its grace. Jobs are sent with `attempts: 1`: a crash is not the job's failure, so recovery must
// not spend an attempt, and every acknowledged job must complete.
import { sleep, waitFor } from '../harness.ts';
import { SHUTDOWN_GRACE_MS } from '../platform.ts';
import { Ledger, resultOf, retryUnacked, type Scenario } from '../scenario.ts';
import { ok, Stream } from '../traffic.ts';

/** half no-op (fast: the pg-boss consumer fetches ahead), half 200 ms sleeps; one attempt each */
const stormJob = (key: string, n: number) =>
  n % 2 === 0
    ? { name: 'diagnostics.noop', data: { note: key }, options: { attempts: 1 } }
    : { name: 'diagnostics.sleep', data: { ms: 200, tag: key }, options: { attempts: 1 } };

export const workerKillStorm: Scenario = {
  name: 'worker-kill-storm',
  skip: () => undefined,
  async run({ platform, scale, log, answers }) {
    const L = new Ledger('killstorm');
    const { api } = platform;
    const durationMs = 8_000 * scale;
    const batch = 20;
    const from = Date.now();
    // 5 bulk requests of 20 a second: 100 jobs/s
    const stream = new Stream(5, async (b) => {
      const keys = Array.from({ length: batch }, (_, i) => L.key(b * batch + i));
      L.take(await api.request('POST', '/v1/jobs/bulk', { jobs: keys.map((k, i) => stormJob(k, b * batch + i)) }, `batch-${b}`), keys);
    });
    const starting: (Promise<unknown> | undefined)[] = [undefined, undefined];
    let kills = 0;
    for (let turn = 0; Date.now() - from < durationMs; turn++) {
      await sleep(2_500);
      const i = turn % 2;
      if (starting[i]) continue; // still starting after its last kill
      await platform.workers[i]!.kill('SIGKILL');
      kills++;
      const p = platform.respawnWorker(i).finally(() => {
        starting[i] = undefined;
      });
      starting[i] = p;
    }
    await stream.stop();
    const to = Date.now();
    await Promise.all(starting);
    log(`${kills} SIGKILLs, ${L.acked.size} jobs acknowledged`);
    await retryUnacked(L, (k) => api.enqueue(stormJob(k, Number(k.slice(L.prefix.length))), k), 30_000);
    const settle = await platform.settle('default', L.prefix, L.acked, 120_000);
    const inv = await platform.inventory('default', L.prefix);
    return resultOf(L, inv, answers(), { from, to }, settle, { notes: [`${kills} workers SIGKILLed, one every 2.5 s`] });
  },
};

export const workerSigtermLong: Scenario = {
  name: 'worker-sigterm-long-jobs',
  skip: () => undefined,
  async run({ platform, scale, log, answers }) {
    const L = new Ledger('sigterm');
    const { api } = platform;
    const n = 6 * scale;
    const jobMs = 5_000;
    const job = (k: string) => ({ name: 'diagnostics.sleep', data: { ms: jobMs, tag: k }, options: { attempts: 1 } });
    // only worker 1 consumes while the jobs are taken, so it is the one holding them when SIGTERMed
    await platform.workers[1]!.kill('SIGTERM');
    const keys = Array.from({ length: n }, (_, i) => L.key(i));
    const a = L.take(await api.request('POST', '/v1/jobs/bulk', { jobs: keys.map(job) }, 'batch'), keys);
    if (!ok(a)) throw new Error(`bulk enqueue answered ${a.status}: ${JSON.stringify(a.body)}`);
    const ids = (a.body.jobs as { id: string }[]).map((j) => encodeURIComponent(j.id));
    const active = async () =>
      (await Promise.all(ids.map((id) => api.request('GET', `/v1/jobs/${id}`, undefined, 'poll')))).filter(
        (r) => r.body?.state === 'active',
      ).length;
    await waitFor(async () => (await active()) === n, {
      what: `all ${n} long jobs active on worker 1`,
      timeoutMs: 60_000,
      intervalMs: 200,
    });
    const w = platform.workers[0]!;
    // worker 2 starts again at once: it cannot take jobs that are running, only recover them
    const respawned = [platform.respawnWorker(1)];
    const from = Date.now();
    w.signal('SIGTERM');
    const exit = await w.exited;
    const exitMs = Date.now() - from;
    const to = Date.now();
    log(`worker 1 exited ${exit.code ?? exit.signal} ${exitMs} ms after SIGTERM with ${n} jobs of ${jobMs} ms running`);
    respawned.push(platform.respawnWorker(0));
    const settle = await platform.settle('default', L.prefix, L.acked, 120_000);
    await Promise.all(respawned);
    const inv = await platform.inventory('default', L.prefix);
    const failures: string[] = [];
    const margin = 5_000;
    if (exitMs > SHUTDOWN_GRACE_MS + margin)
      failures.push(`worker took ${exitMs} ms to exit after SIGTERM (grace ${SHUTDOWN_GRACE_MS} ms)`);
    if (exit.code !== 0) failures.push(`worker exited ${exit.code ?? exit.signal} after SIGTERM, not 0`);
    return resultOf(L, inv, answers(), { from, to }, settle, {
      failures,
      notes: [`SIGTERM with ${n} × ${jobMs} ms jobs running, grace ${SHUTDOWN_GRACE_MS} ms: exited in ${exitMs} ms`],
    });
  },
};
