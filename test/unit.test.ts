// Pure pieces: backoff schedule (pinned random), config validation. (Error classification: test/executor.test.ts.)
import { describe, expect, it } from 'vitest';
import { backoffDelay } from '../core/backoff.ts';
import { toEnqueueRequest, validateJob } from '../producers/enqueue.ts';
import { ConfigError, loadConfig } from '../workers/config.ts';
import { resolveQueues } from '../workers/runtime.ts';

describe('backoff', () => {
  const policy = { baseMs: 1000, capMs: 30_000, jitter: 'full' as const };
  it('doubles per retry up to the cap, before jitter', () => {
    const top = (n: number) => backoffDelay({ ...policy, jitter: 'none' }, n);
    expect([1, 2, 3, 4, 5, 6, 7].map(top)).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000]);
  });
  it('full jitter draws uniformly in [0, exp)', () => {
    expect(backoffDelay(policy, 3, () => 0)).toBe(0);
    expect(backoffDelay(policy, 3, () => 0.5)).toBe(2000);
    expect(backoffDelay(policy, 3, () => 0.999999)).toBe(3999);
    expect(backoffDelay(policy, 40, () => 0.5)).toBe(15000);
  });
});

describe('enqueue requests', () => {
  it('turns runAt into a delay from `now` and applies catalog defaults', () => {
    // runAt is at most 365 days ahead of the real clock (as delay is)
    const now = Math.floor(Date.now() / 1000) * 1000 + 86_400_000;
    const v = validateJob({ name: 'diagnostics.sleep', data: { ms: 5 }, options: { runAt: new Date(now + 10_000).toISOString() } });
    if (!v.ok) throw new Error('invalid');
    const req = toEnqueueRequest(v.job, { RETENTION_COMPLETED_SECONDS: 60, RETENTION_FAILED_SECONDS: 120 }, {}, now);
    expect(req).toMatchObject({
      delayMs: 10_000,
      priority: 5,
      attempts: 3,
      timeoutMs: 60_000,
      retention: { completedSeconds: 60, failedSeconds: 120 },
    });
    const past = toEnqueueRequest(v.job, { RETENTION_COMPLETED_SECONDS: 60, RETENTION_FAILED_SECONDS: 120 }, {}, now + 60_000);
    expect(past.delayMs).toBe(0);
  });
});

describe('config', () => {
  const problems = (env: Record<string, string>) => {
    try {
      loadConfig(env);
    } catch (err) {
      if (err instanceof ConfigError) return err.problems;
      throw err;
    }
    return [];
  };
  it('has working defaults', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      PORT: 3000,
      QUEUE_PREFIX: 'conveyor',
      WORKER_SHUTDOWN_GRACE_MS: 25_000,
      REDIS_URL: 'redis://127.0.0.1:6379',
    });
  });
  it('names each bad variable and what it expects', () => {
    const p = problems({ PORT: 'eighty', REDIS_URL: 'http://x', WORKER_QUEUES: 'default:x', API_KEYS: 'not json' });
    const byVar = Object.fromEntries(p.map((x) => [x.variable, x.message]));
    expect(byVar.PORT).toMatch(/whole number from 0 to 65535/);
    expect(byVar.REDIS_URL).toMatch(/redis:\/\//);
    expect(byVar.WORKER_QUEUES).toMatch(/queue\[:concurrency\]/);
    expect(byVar.API_KEYS).toMatch(/JSON array/);
  });
  it('validates API key entries by field', () => {
    const p = problems({ API_KEYS: JSON.stringify([{ name: 'a', sha256: 'short', scopes: [] }]) });
    expect(p.map((x) => x.variable)).toEqual(['API_KEYS', 'API_KEYS']);
    expect(p.map((x) => x.message).join(' ')).toMatch(/0\.sha256: expects 64 lowercase hex/);
  });
  it('requires API_KEYS in production, and retention at least the idempotency window', () => {
    expect(problems({ NODE_ENV: 'production', REDIS_URL: 'redis://127.0.0.1:6379' })).toEqual([
      { variable: 'API_KEYS', message: 'is required when NODE_ENV=production' },
    ]);
    expect(problems({ IDEMPOTENCY_TTL_SECONDS: '100', RETENTION_COMPLETED_SECONDS: '50' })[0]?.variable).toBe(
      'RETENTION_COMPLETED_SECONDS',
    );
  });
  it('reports every problem together: bad values and the cross-field and production checks', () => {
    const p = problems({
      NODE_ENV: 'production',
      PORT: 'eighty',
      EMAIL_FROM: 'nobody',
      IDEMPOTENCY_TTL_SECONDS: '100',
      RETENTION_COMPLETED_SECONDS: '50',
    });
    expect(p.map((x) => x.variable).sort()).toEqual(['API_KEYS', 'DATABASE_URL', 'EMAIL_FROM', 'PORT', 'RETENTION_COMPLETED_SECONDS']);
    // a check is skipped when a variable it compares is itself invalid (that one is reported instead)
    expect(problems({ IDEMPOTENCY_TTL_SECONDS: 'soon', RETENTION_COMPLETED_SECONDS: '50' }).map((x) => x.variable)).toEqual([
      'IDEMPOTENCY_TTL_SECONDS',
    ]);
  });
  it('resolves WORKER_QUEUES against the catalog', () => {
    const handlers = { 'diagnostics.noop': async () => null };
    expect([...resolveQueues({ '*': undefined }, handlers)]).toEqual([['default', 20]]);
    expect([...resolveQueues({ default: 3 }, handlers)]).toEqual([['default', 3]]);
    expect(() => resolveQueues({ nope: 1 }, handlers)).toThrow(/unknown queue "nope"/);
  });
});
