// Per-group limits and fairness (options.group, core/groups/, docs/groups.md) on both engines: concurrency held
// across two real worker processes (handler start/end times, no overlap beyond the limit), the group rate, and
// fairness (a small group's jobs finish while a large group's backlog is still parked).
import { expect, it } from 'vitest';
import { describeEngines } from './engines.ts';
import { type EngineName, setup, type TestPlatform, waitFor } from './helpers.ts';
import { spawnConveyor } from './processes.ts';

const START_MS = 45_000;
const consuming = (l: Record<string, unknown>) => l.msg === 'consuming' && l.queue === 'default';

interface Run {
  group: string;
  startedMs: number;
  endedMs: number;
  pid: number;
}

/** Enqueue `n` diagnostics.sleep jobs of `group` through the API; their ids. */
async function enqueue(t: TestPlatform, group: string, n: number, ms: number, extra: Record<string, unknown> = {}): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = await t.api('POST', '/v1/jobs', { name: 'diagnostics.sleep', data: { ms, tag: group }, options: { group, ...extra } });
    expect(r.status, JSON.stringify(r.body)).toBe(202);
    ids.push(r.body.id);
  }
  return ids;
}

/** Wait until every job completed; their handler runs. */
async function runsOf(t: TestPlatform, ids: string[], timeoutMs = 90_000): Promise<Run[]> {
  const done = new Map<string, Run>();
  await waitFor(
    async () => {
      for (const id of ids) {
        if (done.has(id)) continue;
        const j = (await t.api('GET', `/v1/jobs/${id}`)).body;
        if (j.state === 'completed')
          done.set(id, { group: j.result.tag, startedMs: j.result.startedMs, endedMs: j.result.endedMs, pid: j.result.pid });
      }
      return done.size === ids.length;
    },
    { what: `${ids.length} jobs completed`, timeoutMs, intervalMs: 100 },
  );
  return [...done.values()];
}

/** The most runs of one group that were ever inside their handlers at once. */
function maxOverlap(runs: Run[]): number {
  const edges = runs.flatMap((r) => [
    { at: r.startedMs, d: 1 },
    { at: r.endedMs, d: -1 },
  ]);
  // an end and a start at the same ms: the end first (the next run began after the slot was freed)
  edges.sort((a, b) => a.at - b.at || a.d - b.d);
  let now = 0;
  let max = 0;
  for (const e of edges) {
    now += e.d;
    max = Math.max(max, now);
  }
  return max;
}

const worker = (t: TestPlatform, env: Record<string, string>) =>
  spawnConveyor('worker', { ...t.env, WORKER_QUEUES: 'default:6', GROUP_SWEEP_MS: '500', ...env });

describeEngines('groups: limits across processes', { timeout: 180_000 }, (engine: EngineName) => {
  it('group concurrency is never exceeded across two worker processes', async () => {
    const limits = { GROUP_CONCURRENCY: '2' };
    const t = await setup({ engine, ...limits });
    await t.backend.release?.run();
    const a = worker(t, limits);
    const b = worker(t, limits);
    await Promise.all([a.waitForLog(consuming, 'worker A consuming', START_MS), b.waitForLog(consuming, 'worker B consuming', START_MS)]);
    const ids = (await Promise.all(['g1', 'g2', 'g3'].map((g) => enqueue(t, g, 8, 120)))).flat();
    const runs = await runsOf(t, ids);
    for (const g of ['g1', 'g2', 'g3']) {
      const mine = runs.filter((r) => r.group === g);
      expect(mine).toHaveLength(8);
      expect(maxOverlap(mine), `group ${g}`).toBeLessThanOrEqual(2);
    }
    // the groups did run side by side: the limit is per group, not per queue
    expect(maxOverlap(runs)).toBeGreaterThan(2);
    const counts = (await t.api('GET', '/v1/queues/default/groups')).body;
    for (const g of counts.groups ?? []) expect(g).toMatchObject({ waiting: 0, active: 0 });
  });

  it('a group rate is held: starts no faster than ratePerSecond (within 10 %)', async () => {
    const limits = { GROUP_CONCURRENCY: '4', GROUP_RATE_PER_SECOND: '20' };
    const t = await setup({ engine, ...limits });
    t.startWorker({ queues: { default: 8 } });
    const ids = await enqueue(t, 'rated', 30, 0);
    const runs = (await runsOf(t, ids)).sort((x, y) => x.startedMs - y.startedMs);
    const span = (runs.at(-1) as Run).startedMs - (runs[0] as Run).startedMs;
    const rate = ((runs.length - 1) * 1000) / span;
    console.info(`[${engine}] group rate 20/s: ${rate.toFixed(1)} starts/s over ${runs.length} jobs`);
    expect(rate).toBeLessThanOrEqual(22);
  });

  it('fairness: a small group is served while a large group drains its backlog', async () => {
    const t = await setup({ engine, GROUP_CONCURRENCY: '1' });
    const big = await enqueue(t, 'big', 40, 20);
    const small = await enqueue(t, 'small', 5, 20);
    t.startWorker({ queues: { default: 2 } });
    await runsOf(t, small);
    const counts = (await t.api('GET', '/v1/queues/default/groups')).body.groups as { group: string; waiting: number }[];
    const bigLeft = counts.find((c) => c.group === 'big')?.waiting ?? 0;
    // round robin: the 5 small jobs took about 5 of the big group's turns, so most of its backlog still waits
    expect(bigLeft).toBeGreaterThanOrEqual(20);
    await runsOf(t, big);
  });
});
