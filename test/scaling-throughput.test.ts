// The shared throughput counters behind the scaling signal: the recorder keeps counts through a store
// outage, and on pgboss the signal reads the engine and the table in its schema. The stores' own contract
// (both engines): test/stores-contract.test.ts.
import { describe, expect, it, onTestFinished } from 'vitest';
import { readScaling } from '../core/metrics/scaling-reader.ts';
import { readFinished, ThroughputRecorder, type ThroughputStore } from '../core/metrics/throughput.ts';
import { toEnqueueRequest } from '../producers/enqueue.ts';
import { catalogView } from '../workers/catalog.ts';
import { bullmqFactory } from './engines.ts';
import { testConfig } from './helpers.ts';
import { DATABASE_URL, makePgbossEngine, postgresUnavailable } from './pgboss-helpers.ts';

describe('throughput store', () => {
  it('keeps counts when the store is down and adds them on the next flush', async () => {
    const made = await bullmqFactory.create();
    onTestFinished(() => made.cleanup());
    const real = made.backend.throughput;
    let down = true;
    const flaky: ThroughputStore = {
      add: (b, c) => (down ? Promise.reject(new Error('store down')) : real.add(b, c)),
      read: (q, f, t) => real.read(q, f, t),
      minutes: (q, f, t) => real.minutes(q, f, t),
    };
    const now = Date.now();
    const rec = new ThroughputRecorder(flaky, 60_000, () => now);
    rec.record('default');
    rec.record('default');
    await rec.flush();
    down = false;
    rec.record('default');
    await rec.close();
    expect(await readFinished(real, ['default'], 60, now)).toEqual({ default: 3 });
  });

  it('pgboss: the scaling signal reads the engine and the table in its schema', async (ctx) => {
    const why = await postgresUnavailable();
    if (why) {
      console.warn(`skipping the pgboss scaling test: ${why}`);
      ctx.skip();
    }
    const { engine, backend, cleanup } = makePgbossEngine();
    const config = testConfig({ DATABASE_URL, QUEUE_ENGINE: 'pgboss', WORKER_QUEUES: 'default:2', SCALING_TARGET_LATENCY_SECONDS: '1' });
    const store = backend.throughput;
    onTestFinished(cleanup);
    const rec = new ThroughputRecorder(store, 60_000);
    for (let i = 0; i < 6; i++) rec.record('default');
    await rec.close();
    await engine.enqueueMany(
      Array.from({ length: 5 }, () => toEnqueueRequest({ name: 'diagnostics.noop', data: {}, options: {} }, config)),
    );
    const { signal } = await readScaling({ engine, throughput: store, config, catalog: catalogView });
    expect(signal.processTypes.worker).toMatchObject({ queues: ['default'], depth: 5, throughputPerSecond: 0.1 });
  });
});
