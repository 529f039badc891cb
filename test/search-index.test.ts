// BullMQ's job-search index (core/engines/bullmq/search.ts) is a sorted set beside BullMQ's keys, and BullMQ
// deletes retained jobs in its own scripts without knowing it. The sweep that enqueues drive drops the
// entries of deleted jobs, so the index follows the retained jobs instead of growing for as long as the
// platform runs (the hour-long soak saw Redis grow ~15 MB/h before it). Only BullMQ keeps such an index: on
// pg-boss the search indexes are indexes of the job table, and a deleted row takes its entries with it.
import { Redis } from 'ioredis';
import { describe, expect, it, onTestFinished } from 'vitest';
import type { BullmqEngine } from '../core/engines/bullmq/engine.ts';
import { SWEEP_PER_JOB } from '../core/engines/bullmq/search.ts';
import { toEnqueueRequest, validateJob } from '../producers/enqueue.ts';
import { bullmqFactory } from './engines.ts';
import { REDIS_URL, testConfig, waitFor } from './helpers.ts';

const retention = testConfig();
const noop = (note: string) => {
  const v = validateJob({ name: 'diagnostics.noop', data: { note }, options: {} });
  if (!v.ok) throw new Error(JSON.stringify(v.details));
  return toEnqueueRequest(v.job, retention, { requestId: 'test' }, Date.now());
};

/** a fresh BullMQ engine, the key of its default queue's index, and a connection to read it */
async function setup() {
  const { engine: e, cleanup } = await bullmqFactory.create();
  onTestFinished(cleanup);
  const engine = e as BullmqEngine;
  const redis = new Redis(REDIS_URL);
  onTestFinished(() => void redis.disconnect());
  return { engine, index: engine.searchIndex.key('default'), redis };
}

describe('[bullmq] job-search index', () => {
  it('drops the entries of jobs BullMQ deleted, as jobs are enqueued; live jobs keep theirs', async () => {
    const { engine, index, redis } = await setup();
    const size = () => redis.zcard(index);

    const old = await engine.enqueueMany(Array.from({ length: 300 }, (_, i) => noop(`old-${i}`)));
    const kept = await engine.enqueueMany(Array.from({ length: 20 }, (_, i) => noop(`kept-${i}`)));
    await waitFor(async () => (await size()) === 320, { timeoutMs: 10_000 });
    // what age/count retention does: BullMQ removes the job's keys (the index entry stays behind)
    for (const r of old) await engine.queue('default').remove(r.job.id);
    expect(await size()).toBe(320);

    // one sweep looks at SWEEP_PER_JOB entries per job added, from its cursor, oldest first, wrapping at the end
    const present = async () => new Set((await redis.zrange(index, 0, -1)).map((m) => m.slice(m.indexOf(':') + 1)));
    let calls = 0;
    let removed = 0;
    while ((await size()) > kept.length && calls < 5) {
      removed += await engine.searchIndex.sweep('default', 100);
      calls++;
    }
    expect(removed).toBe(old.length);
    expect(calls).toBeLessThanOrEqual(Math.ceil(320 / (100 * SWEEP_PER_JOB)) + 1); // one lap, plus the wrap
    const ids = await present();
    for (const r of kept) expect(ids.has(r.job.id), r.job.id).toBe(true);

    // and enqueues drive it: once the kept jobs are deleted too, enqueueing sweeps their entries away
    for (const r of kept) await engine.queue('default').remove(r.job.id);
    const fresh: string[] = [];
    await waitFor(
      async () => {
        fresh.push(...(await engine.enqueueMany([noop(`new-${fresh.length}`)])).map((r) => r.job.id));
        const now = await present();
        return kept.every((r) => !now.has(r.job.id)) && fresh.every((id) => now.has(id));
      },
      { timeoutMs: 15_000, intervalMs: 20, what: 'the deleted jobs swept by enqueues' },
    );
  });

  it('gathers the sweeps of single enqueues into one call per queue, and a full bulk still sweeps at once', async () => {
    const { engine, index, redis } = await setup();
    const calls: number[] = [];
    const sweep = engine.searchIndex.sweep.bind(engine.searchIndex);
    engine.searchIndex.sweep = (queue: string, added: number) => {
      calls.push(added);
      return sweep(queue, added);
    };
    const gone = await engine.enqueueMany(Array.from({ length: 30 }, (_, i) => noop(`gone-${i}`)));
    for (const r of gone) await engine.queue('default').remove(r.job.id);
    // 20 single enqueues back to back: their sweeps are gathered (one round trip each cost ~10 % of the web's CPU)
    for (let i = 0; i < 20; i++) await engine.enqueueMany([noop(`single-${i}`)]);
    await waitFor(async () => calls.reduce((a, b) => a + b, 0) === 50, { timeoutMs: 5_000, what: 'the gathered sweeps' });
    expect(calls.length).toBeLessThan(21); // one call per enqueue (21) before
    await waitFor(async () => (await redis.zcard(index)) === 20, { timeoutMs: 5_000, what: 'the deleted entries swept' });
    // a bulk that fills a whole sweep sweeps at once, without waiting for the gathering window
    calls.length = 0;
    await engine.enqueueMany(Array.from({ length: 1000 }, (_, i) => noop(`bulk-${i}`)));
    expect(calls).toEqual([1000]);
  });
});
