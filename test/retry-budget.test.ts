// Retry budgets by time (`retryFor`, docs/reliability.md "Retry budgets"): the pure schedule under
// fast-check (it ends, stays inside its budget, grows), the wire shape (400 naming options.retryFor),
// and on each engine a job that fails on every run, with real time compressed to a budget of 1.5 s.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type BackoffPolicy, backoffDelay, budgetedDelay, MAX_SCHEDULE, retrySchedule } from '../core/backoff.ts';
import { formatDuration, parseDuration } from '../core/duration.ts';
import { emailKinds } from '../workers/email/kinds.ts';
import { describeEngines } from './engines.ts';
import { setup, waitFor } from './helpers.ts';

const policyArb: fc.Arbitrary<BackoffPolicy> = fc.record({
  baseMs: fc.integer({ min: 0, max: 3_600_000 }),
  capMs: fc.integer({ min: 0, max: 24 * 3_600_000 }),
  jitter: fc.constantFrom('full' as const, 'none' as const),
});
const randomArb = fc.double({ min: 0, max: 0.999_999, noNaN: true });

describe('retry schedule under a time budget (fast-check)', () => {
  it('always ends: at most attempts − 1 delays, each a finite integer ≥ 0, summing to exactly the budget', () => {
    fc.assert(
      fc.property(
        policyArb,
        fc.integer({ min: 2, max: 500 }),
        fc.integer({ min: 1, max: 30 * 86_400_000 }),
        randomArb,
        (p, attempts, budget, r) => {
          const delays = retrySchedule(p, attempts, budget, () => r);
          expect(delays.length).toBeLessThanOrEqual(attempts - 1);
          for (const d of delays) expect(Number.isInteger(d) && d >= 0).toBe(true);
          // failures that take no time: the last attempt lands on the budget's end, never past it
          expect(delays.reduce((a, b) => a + b, 0)).toBe(budget);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('is bounded even for absurd inputs (attempts in the millions, zero base, NaN clocks)', () => {
    expect(retrySchedule({ baseMs: 0, capMs: 0, jitter: 'full' }, 5_000_000, 86_400_000).length).toBeLessThanOrEqual(MAX_SCHEDULE);
    expect(retrySchedule({ baseMs: 1, capMs: 1, jitter: 'none' }, Number.POSITIVE_INFINITY).length).toBe(MAX_SCHEDULE - 1);
    expect(budgetedDelay({ baseMs: 1, capMs: 1, jitter: 'none' }, 1, { retryForMs: 1000, elapsedMs: Number.NaN, retriesLeft: 3 })).toBe(
      undefined,
    );
    expect(backoffDelay({ baseMs: 0, capMs: 10, jitter: 'none' }, 5_000)).toBe(0);
    expect(backoffDelay({ baseMs: 1, capMs: 10, jitter: 'none' }, 5_000)).toBe(10);
  });

  it('without jitter the delays never shrink, but for the last one (clamped to the budget’s end)', () => {
    fc.assert(
      fc.property(policyArb, fc.integer({ min: 2, max: 300 }), fc.integer({ min: 1, max: 30 * 86_400_000 }), (p, attempts, budget) => {
        const delays = retrySchedule({ ...p, jitter: 'none' }, attempts, budget);
        for (let i = 1; i < delays.length - 1; i++) expect(delays[i]).toBeGreaterThanOrEqual(delays[i - 1] as number);
      }),
      { numRuns: 500 },
    );
  });

  it('each delay stays within the stretched cap and the budget left', () => {
    fc.assert(
      fc.property(
        policyArb,
        fc.integer({ min: 1, max: 200 }),
        fc.integer({ min: 1, max: 86_400_000 }),
        fc.integer({ min: 0, max: 86_400_000 }),
        fc.integer({ min: 1, max: 100 }),
        randomArb,
        (p, retry, budget, elapsed, left, r) => {
          const d = budgetedDelay(p, retry, { retryForMs: budget, elapsedMs: elapsed, retriesLeft: left }, () => r);
          if (elapsed >= budget) {
            expect(d).toBeUndefined();
            return;
          }
          const remaining = budget - elapsed;
          expect(d).toBeLessThanOrEqual(remaining);
          if (left === 1) expect(d).toBe(remaining);
          else expect(d).toBeLessThanOrEqual(Math.max(p.capMs, Math.floor(remaining / left)));
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('email survives a 6-hour SMTP outage: not dead before 6 h of failures, whatever the jitter', () => {
    const d = emailKinds['email.send'].defaults;
    expect(d.retryForMs).toBe(6 * 3_600_000);
    fc.assert(
      fc.property(randomArb, (r) => {
        const delays = retrySchedule(d.backoff, d.attempts, d.retryForMs, () => r);
        expect(delays.reduce((a, b) => a + b, 0)).toBe(6 * 3_600_000);
        expect(delays[0]).toBeLessThanOrEqual(2_000); // a hiccup is still retried within seconds
      }),
      { numRuns: 200 },
    );
  });

  it('durations: ms, "90s"/"30m"/"6h"/"2d"/"1500ms", ISO-8601', () => {
    expect(parseDuration('6h')).toBe(21_600_000);
    expect(parseDuration('90s')).toBe(90_000);
    expect(parseDuration('1500ms')).toBe(1_500);
    expect(parseDuration('2d')).toBe(172_800_000);
    expect(parseDuration('PT6H')).toBe(21_600_000);
    expect(parseDuration('P1DT12H30M5S')).toBe(((36 * 60 + 30) * 60 + 5) * 1000);
    for (const bad of ['', 'P', 'PT', '6', '6 h', '-1h', 'P1Y', '1.5h', 'h']) expect(parseDuration(bad)).toBeUndefined();
    expect(formatDuration(21_600_000)).toBe('6h');
    expect(formatDuration(1_500)).toBe('1.5s');
  });
});

describeEngines('retry budget (retryFor)', { timeout: 60_000 }, (engine) => {
  it('400 naming options.retryFor for a bad value; a good one is accepted in either form', async () => {
    const t = await setup({ engine });
    for (const retryFor of ['tomorrow', '0s', 999, 31 * 86_400_000, 1.5, -5, '6 h', null, {}]) {
      const r = await t.api('POST', '/v1/jobs', { name: 'diagnostics.noop', data: {}, options: { retryFor } });
      expect(r.status, JSON.stringify(retryFor)).toBe(400);
      expect(r.body.error.details.map((d: { path: string }) => d.path)).toEqual(['options.retryFor']);
    }
    const bulk = await t.api('POST', '/v1/jobs/bulk', { jobs: [{ name: 'diagnostics.noop', options: { retryFor: 'soon' } }] });
    expect(bulk.status).toBe(400);
    expect(JSON.stringify(bulk.body.error.details)).toContain('options.retryFor');
    for (const retryFor of ['6h', 'PT30M', 60_000]) {
      expect((await t.api('POST', '/v1/jobs', { name: 'diagnostics.noop', data: {}, options: { retryFor } })).status).toBe(202);
    }
  });

  it('a job failing on every run retries until its budget is spent, the last attempt at its end, then dies', async () => {
    const t = await setup({ engine });
    t.startWorker();
    // diagnostics.sleep's backoff: 200 ms base, 5 s cap, full jitter; 100 attempts would take far longer than 1.5 s
    const r = await t.api('POST', '/v1/jobs', {
      name: 'diagnostics.sleep',
      data: { ms: 0, fail: 'transient', failAttempts: 100 },
      options: { attempts: 100, retryFor: '1500ms' },
    });
    expect(r.status).toBe(202);
    const dead = await waitFor(
      async () => {
        const j = (await t.api('GET', `/v1/jobs/${r.body.id}`)).body;
        return j.state === 'dead' && j;
      },
      { timeoutMs: 30_000, what: 'the job dead-lettered' },
    );
    expect(dead.attempts.made).toBeGreaterThanOrEqual(2);
    expect(dead.attempts.made).toBeLessThan(100);
    const letters = (await t.api('GET', '/v1/dead-letters?queue=default')).body.deadLetters;
    const letter = letters.find((l: { id: string }) => l.id === r.body.id);
    expect(letter.reason).toMatch(/^retry budget of 1\.5s spent: failed \d+ attempts over /);
    const at = letter.attempts.map((a: { at: string }) => Date.parse(a.at));
    // the clock starts at the first failure; the last attempt ran no earlier than the budget's end
    // (ms rounding of the recorded times aside)
    expect((at.at(-1) as number) - (at[0] as number)).toBeGreaterThanOrEqual(1_500 - 2);
    expect(letter.attempts.map((a: { attempt: number }) => a.attempt)).toEqual(at.map((_: number, i: number) => i + 1));
  });

  it('without a budget, attempts alone decide; a success inside the budget completes', async () => {
    const t = await setup({ engine });
    t.startWorker();
    const plain = await t.api('POST', '/v1/jobs', {
      name: 'diagnostics.sleep',
      data: { ms: 0, fail: 'transient', failAttempts: 100 },
      options: { attempts: 2 },
    });
    const saved = await t.api('POST', '/v1/jobs', {
      name: 'diagnostics.sleep',
      data: { ms: 0, fail: 'transient', failAttempts: 2 },
      options: { attempts: 10, retryFor: '1h' },
    });
    const end = (id: string) =>
      waitFor(
        async () => {
          const j = (await t.api('GET', `/v1/jobs/${id}`)).body;
          return ['dead', 'completed'].includes(j.state) && j;
        },
        { timeoutMs: 30_000, what: `job ${id} finished` },
      );
    expect(await end(plain.body.id)).toMatchObject({ state: 'dead', attempts: { made: 2 } });
    expect(await end(saved.body.id)).toMatchObject({ state: 'completed', attempts: { made: 3 } });
    const letters = (await t.api('GET', '/v1/dead-letters?queue=default')).body.deadLetters;
    expect(letters.find((l: { id: string }) => l.id === plain.body.id).reason).toBe('failed 2 of 2 attempts');
  });
});
