// The pure scaling computation and the supervisor's decision function, with a fake clock.
import { describe, expect, it } from 'vitest';
import type { QueueInfo } from '../core/engine.ts';
import { computeScaling, queuesOf } from '../core/metrics/scaling.ts';
import { queues } from '../workers/catalog.ts';
import { ConfigError, loadConfig } from '../workers/config.ts';
import { decideReplicas, type ScalePolicy } from '../workers/supervisor.ts';

const info = (name: string, o: Partial<QueueInfo['counts']> & { age?: number; paused?: boolean } = {}): QueueInfo => ({
  name,
  paused: o.paused ?? false,
  counts: { waiting: 0, delayed: 0, active: 0, completed: 0, failed: 0, dead: 0, ...o },
  oldestWaitingAgeSeconds: o.age ?? 0,
});

const base = {
  processTypes: { worker: { queues: { default: 4, email: 2 }, min: 1, max: 5 } },
  windowSeconds: 60,
  targetLatencySeconds: 10,
  now: Date.parse('2026-01-01T00:00:00Z'),
};

describe('computeScaling', () => {
  it('recommends min when nothing waits or runs', () => {
    const s = computeScaling({ ...base, queueInfo: [info('default'), info('email')], finishedInWindow: {} });
    expect(s.processTypes.worker).toMatchObject({
      recommendedReplicas: 1,
      depth: 0,
      active: 0,
      latencySeconds: 0,
      concurrencyPerReplica: 6,
    });
    expect(s.generatedAt).toBe('2026-01-01T00:00:00.000Z');
  });

  it('asks for enough replicas to run every ready and running job when behind, clamped to max', () => {
    const s = computeScaling({
      ...base,
      queueInfo: [info('default', { waiting: 10, active: 4, age: 30 }), info('email', { waiting: 4, age: 2 })],
      finishedInWindow: { default: 60 },
    });
    // per queue: default (10 + 4) / 4 = 4, email 4 / 2 = 2; the most any queue needs (its slots are its own)
    expect(s.processTypes.worker).toMatchObject({
      recommendedReplicas: 4,
      depth: 14,
      active: 4,
      latencySeconds: 30,
      throughputPerSecond: 1,
    });
    const big = computeScaling({ ...base, queueInfo: [info('default', { waiting: 500, age: 60 })], finishedInWindow: {} });
    expect(big.processTypes.worker?.recommendedReplicas).toBe(5);
    expect(big.processTypes.worker?.reason).toMatch(/clamped to 5/);
  });

  it('counts prioritized jobs through the engine’s latency: a young backlog that drains in time needs only the running replicas', () => {
    const s = computeScaling({
      ...base,
      queueInfo: [info('default', { waiting: 20, active: 12, age: 1 })],
      finishedInWindow: { default: 600 }, // 10/s: 20 waiting drain in 2 s
    });
    expect(s.processTypes.worker).toMatchObject({ recommendedReplicas: 3, throughputPerSecond: 10 }); // ceil(12 / 4)
    expect(s.processTypes.worker?.reason).toMatch(/keeping up/);
  });

  it('a backlog with no recent throughput is behind even while young (a burst just arrived)', () => {
    const s = computeScaling({ ...base, queueInfo: [info('default', { waiting: 12, age: 0.2 })], finishedInWindow: {} });
    expect(s.processTypes.worker?.recommendedReplicas).toBe(3);
  });

  it('ignores paused queues for demand but lists them', () => {
    const s = computeScaling({
      ...base,
      queueInfo: [info('default', { waiting: 100, age: 500, paused: true }), info('email')],
      finishedInWindow: {},
    });
    expect(s.processTypes.worker).toMatchObject({ recommendedReplicas: 1, depth: 0, pausedQueues: ['default'], concurrencyPerReplica: 2 });
  });

  it('resolves WORKER_QUEUES with catalog concurrency for `*`', () => {
    expect(queuesOf({ default: 3 }, queues)).toEqual({ default: 3 });
    expect(queuesOf({ '*': undefined }, queues).default).toBeGreaterThan(0);
  });
});

describe('decideReplicas (supervisor hysteresis)', () => {
  const policy: ScalePolicy = { min: 1, max: 4, upCooldownMs: 1_000, downCooldownMs: 10_000 };

  it('scales up at once after the up cool-down, clamped to max', () => {
    const s = decideReplicas({ current: 1, lastChangeAt: 0 }, 9, 5_000, policy);
    expect(s).toEqual({ current: 4, lastChangeAt: 5_000 });
    expect(decideReplicas({ current: 1, lastChangeAt: 4_500 }, 3, 5_000, policy).current).toBe(1); // still cooling down
  });

  it('scales down only after the recommendation stayed below for the down cool-down, to the highest seen', () => {
    let s = decideReplicas({ current: 4, lastChangeAt: 0 }, 1, 20_000, policy);
    expect(s.current).toBe(4);
    s = decideReplicas(s, 2, 25_000, policy);
    expect(s.current).toBe(4);
    s = decideReplicas(s, 1, 29_999, policy);
    expect(s.current).toBe(4);
    s = decideReplicas(s, 1, 30_000, policy);
    expect(s).toEqual({ current: 2, lastChangeAt: 30_000 });
  });

  it('a recommendation back at the current count resets the scale-down timer', () => {
    let s = decideReplicas({ current: 3, lastChangeAt: 0 }, 1, 20_000, policy);
    s = decideReplicas(s, 3, 25_000, policy);
    s = decideReplicas(s, 1, 31_000, policy);
    expect(s.current).toBe(3);
    expect(decideReplicas(s, 1, 41_000, policy).current).toBe(1);
  });

  it('never goes below min', () => {
    expect(decideReplicas({ current: 2, lastChangeAt: 0, belowSince: 0, belowMax: 0 }, 0, 100_000, { ...policy, min: 2 }).current).toBe(2);
  });
});

describe('scaling settings', () => {
  it('parses min:max and names a bad variable', () => {
    const c = loadConfig({ WORKER_AUTOSCALE: '2:5', REDIS_URL: 'redis://127.0.0.1:6379' });
    expect(c.WORKER_AUTOSCALE).toEqual({ min: 2, max: 5 });
    expect(c.SCALING_WORKER_REPLICAS).toEqual({ min: 1, max: 10 });
    for (const [variable, value] of [
      ['WORKER_AUTOSCALE', '5:2'],
      ['WORKER_AUTOSCALE', 'four'],
      ['SCALING_WORKER_REPLICAS', '0:0'],
      ['SCALING_WINDOW_SECONDS', '5'],
      ['METRICS_TOKEN', 'short'],
      ['OTEL_EXPORTER_OTLP_ENDPOINT', 'grpc://collector:4317'],
    ]) {
      let err: unknown;
      try {
        loadConfig({ [variable as string]: value });
      } catch (e) {
        err = e;
      }
      expect(err, `${variable}=${value}`).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).problems.map((p) => p.variable)).toContain(variable);
    }
  });
});
