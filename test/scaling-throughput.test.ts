// The shared throughput counters behind the scaling signal, on both stores: Redis (bullmq) and a
// table in the engine's schema (pgboss), against the real servers, with a fake clock.
import { describe, expect, it, onTestFinished } from 'vitest';
import { createRedis } from '../core/engines/bullmq/redis.ts';
import { readScaling } from '../core/metrics/scaling-reader.ts';
import {
  BUCKET_SECONDS,
  PostgresThroughputStore,
  RedisThroughputStore,
  readFinished,
  ThroughputRecorder,
  type ThroughputStore,
  throughputStoreFor,
} from '../core/metrics/throughput.ts';
import { toEnqueueRequest } from '../producers/enqueue.ts';
import { dropPrefix, REDIS_URL, testConfig, uniquePrefix } from './helpers.ts';
import { DATABASE_URL, dropSchema, makePgbossEngine, postgresUnavailable, uniqueSchema } from './pgboss-helpers.ts';

async function behaves(store: ThroughputStore) {
  let now = Date.parse('2026-03-01T12:00:05Z');
  const rec = new ThroughputRecorder(store, 60_000, () => now);
  for (let i = 0; i < 5; i++) rec.record('default');
  rec.record('email');
  await rec.flush();
  now += BUCKET_SECONDS * 1000; // next bucket
  for (let i = 0; i < 3; i++) rec.record('default');
  await rec.close();
  expect(await readFinished(store, ['default', 'email', 'reports'], 60, now)).toEqual({ default: 8, email: 1, reports: 0 });
  // a 10 s window holds only the current bucket
  expect(await readFinished(store, ['default'], 10, now)).toEqual({ default: 3 });
  // a minute later the first bucket has left a 60 s window
  expect(await readFinished(store, ['default'], 60, now + 60_000 - BUCKET_SECONDS * 1000)).toEqual({ default: 3 });
  expect(await readFinished(store, ['default'], 60, now + 60_000)).toEqual({ default: 0 });
}

describe('throughput store', () => {
  it('Redis: adds per bucket and sums a window', async () => {
    const prefix = uniquePrefix('tp');
    const redis = createRedis(REDIS_URL, 'probe');
    onTestFinished(async () => {
      await dropPrefix(prefix);
      redis.disconnect();
    });
    await behaves(new RedisThroughputStore(redis, prefix));
    const ttl = await redis.ttl((await redis.keys(`${prefix}:_conveyor:finished:default:*`))[0] as string);
    expect(ttl).toBeGreaterThan(3600);
  });

  it('Postgres: adds per bucket and sums a window', async (ctx) => {
    const why = await postgresUnavailable();
    if (why) {
      console.warn(`skipping the Postgres throughput test: ${why}`);
      ctx.skip();
    }
    const schema = uniqueSchema('tp');
    const store = new PostgresThroughputStore(DATABASE_URL, schema);
    onTestFinished(async () => {
      await store.close();
      await dropSchema(schema);
    });
    await behaves(store);
  });

  it('keeps counts when the store is down and adds them on the next flush', async () => {
    const prefix = uniquePrefix('tp');
    const redis = createRedis(REDIS_URL, 'probe');
    onTestFinished(async () => {
      await dropPrefix(prefix);
      redis.disconnect();
    });
    const real = new RedisThroughputStore(redis, prefix);
    let down = true;
    const flaky: ThroughputStore = {
      add: (b, c) => (down ? Promise.reject(new Error('store down')) : real.add(b, c)),
      read: (q, f, t) => real.read(q, f, t),
      close: async () => {},
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
    const { engine, cleanup } = makePgbossEngine();
    const config = testConfig({ DATABASE_URL, QUEUE_ENGINE: 'pgboss', WORKER_QUEUES: 'default:2', SCALING_TARGET_LATENCY_SECONDS: '1' });
    const store = throughputStoreFor(config, engine);
    onTestFinished(async () => {
      await store.close();
      await cleanup();
    });
    expect(store).toBeInstanceOf(PostgresThroughputStore);
    const rec = new ThroughputRecorder(store, 60_000);
    for (let i = 0; i < 6; i++) rec.record('default');
    await rec.close();
    await engine.enqueueMany(
      Array.from({ length: 5 }, () => toEnqueueRequest({ name: 'diagnostics.noop', data: {}, options: {} }, config)),
    );
    const { signal } = await readScaling({ engine, throughput: store, config });
    expect(signal.processTypes.worker).toMatchObject({ queues: ['default'], depth: 5, throughputPerSecond: 0.1 });
  });
});
