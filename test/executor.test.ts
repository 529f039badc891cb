// The executor's decision table, without an engine: each way a run can end and the one Outcome it gets,
// the same Outcome the hooks and the log line see.
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { ConsumedJob, Outcome } from '../core/engine.ts';
import { JobCancelledError, JobTimeoutError, PermanentError, RetryLaterError } from '../core/errors/index.ts';
import { decide, Executor, type JobHandler, type Settler } from '../core/executor.ts';

const backoff = { baseMs: 200, capMs: 5_000, jitter: 'full' as const };
const definitions = {
  work: { payload: z.object({ n: z.number().default(1) }), defaults: { priority: 5, attempts: 3, backoff, timeoutMs: 5_000 } },
};

const job = (attempt: number, over: Partial<ConsumedJob> = {}): ConsumedJob => ({
  id: 'j1',
  name: 'work',
  queue: 'default',
  data: {},
  attempt,
  maxAttempts: 3,
  meta: {},
  updateProgress: async () => {},
  log: async () => {},
  ...over,
});

/** An executor over `handler`, with pinned jitter, recording what its hooks and log saw. */
function executor(handler: JobHandler | undefined, onOutcome?: () => void, settlers?: Settler[]) {
  const seen: Outcome[] = [];
  const lines: { level: number; msg: string; action?: string; reason?: string }[] = [];
  const logger = pino(
    { level: 'info' },
    new Writable({
      write(chunk, _enc, done) {
        lines.push(JSON.parse(String(chunk)));
        done();
      },
    }),
  );
  const ex = new Executor({
    definition: (kind) => (kind in definitions ? definitions[kind as keyof typeof definitions] : undefined),
    handler: () => handler,
    fallbackBackoff: { baseMs: 1_000, capMs: 1_000, jitter: 'none' },
    logger,
    random: () => 0.5,
    settlers,
    hooks: {
      onOutcome: (_job, outcome) => {
        seen.push(outcome);
        onOutcome?.();
      },
    },
  });
  const run = async (j: ConsumedJob, signal = new AbortController().signal) => {
    const outcome = await ex.run(j, signal);
    expect(seen.at(-1)).toBe(outcome); // the hook read the very outcome the engine gets
    return outcome;
  };
  return { run, lines };
}

const failing =
  (err: unknown): JobHandler =>
  async () => {
    throw err;
  };

describe('executor decision table', () => {
  it('completed: the handler result (null for none), logged at info', async () => {
    const { run, lines } = executor(async (p) => ({ got: p }));
    expect(await run(job(1, { data: { n: 7 } }))).toEqual({ status: 'completed', result: { got: { n: 7 } } });
    expect(await executor(async () => undefined).run(job(1))).toEqual({ status: 'completed', result: null });
    expect(lines.at(-1)).toMatchObject({ level: 30, msg: 'job completed' });
  });

  it('retry after the kind’s backoff (full jitter, pinned): 100 ms after attempt 1, 200 ms after attempt 2', async () => {
    const { run, lines } = executor(failing(new Error('flaky')));
    const first = await run(job(1));
    expect(first).toMatchObject({ status: 'retry', delayMs: 100, attempt: { attempt: 1, error: 'Error: flaky' } });
    expect(await run(job(2))).toMatchObject({ status: 'retry', delayMs: 200 });
    expect(lines.at(-1)).toMatchObject({ level: 40, msg: 'job failed', action: 'retry' });
    expect(Number.isNaN(Date.parse(first.status === 'retry' ? first.attempt.at : ''))).toBe(false);
  });

  it('retry after a RetryLaterError’s hint, whatever the backoff', async () => {
    const { run } = executor(failing(new RetryLaterError('slow down', 4_321)));
    expect(await run(job(1))).toMatchObject({ status: 'retry', delayMs: 4_321 });
    expect(await executor(failing(new RetryLaterError('now', -5))).run(job(1))).toMatchObject({ status: 'retry', delayMs: 0 });
  });

  it('dead at once for a PermanentError, on any attempt', async () => {
    const { run, lines } = executor(failing(new PermanentError('bad address')));
    const out = await run(job(1));
    expect(out).toMatchObject({ status: 'dead', reason: 'permanent error: bad address', attempt: { attempt: 1 } });
    expect(out.status === 'dead' && out.error).toBeInstanceOf(PermanentError);
    expect(lines.at(-1)).toMatchObject({ level: 50, action: 'dead', reason: 'permanent error: bad address' });
  });

  it('dead with "failed n of m attempts" when the last attempt fails, a RetryLaterError included', async () => {
    expect(await executor(failing(new Error('down'))).run(job(3))).toMatchObject({
      status: 'dead',
      reason: 'failed 3 of 3 attempts',
      attempt: { attempt: 3, error: 'Error: down' },
    });
    expect(await executor(failing(new RetryLaterError('later', 10))).run(job(1, { maxAttempts: 1 }))).toMatchObject({
      status: 'dead',
      reason: 'failed 1 of 1 attempts',
    });
  });

  it('cancelled when the engine fires the run’s signal, never retried, even on the last attempt', async () => {
    const { run } = executor(
      (_p, ctx) =>
        new Promise((_, reject) => {
          ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason));
        }),
    );
    const cancel = new AbortController();
    const running = run(job(3), cancel.signal);
    cancel.abort('cancelled by request');
    const out = await running;
    expect(out).toMatchObject({ status: 'cancelled', attempt: { attempt: 3, error: 'JobCancelledError: cancelled by request' } });
    // a cancel that arrived before the run started: the handler is never awaited
    expect(await run(job(1), AbortSignal.abort('cancelled by request'))).toMatchObject({ status: 'cancelled' });
  });

  it('a run past its timeout fails through the signal (even if the handler ignores it): retried, then dead', async () => {
    const ignoring: JobHandler = () => new Promise(() => {});
    const { run } = executor(ignoring);
    const out = await run(job(1, { meta: { timeoutMs: 30 } }));
    expect(out).toMatchObject({ status: 'retry', delayMs: 100 });
    expect(out.status === 'retry' && out.error).toBeInstanceOf(JobTimeoutError);
    expect(out.status === 'retry' && out.error.message).toBe('timed out after 30 ms');
    expect(await run(job(3, { meta: { timeoutMs: 30 } }))).toMatchObject({ status: 'dead', reason: 'failed 3 of 3 attempts' });
  });

  it('dead without running for an unknown kind, an invalid payload or a kind this worker does not serve', async () => {
    const ok = executor(async () => 'ran');
    expect(await ok.run(job(1, { name: 'mystery' }))).toMatchObject({
      status: 'dead',
      reason: 'permanent error: unknown job kind "mystery"',
    });
    expect(await ok.run(job(1, { data: { n: 'x' } }))).toMatchObject({
      status: 'dead',
      reason: expect.stringMatching(/^permanent error: invalid payload: data\.n/),
    });
    expect(await executor(undefined).run(job(1))).toMatchObject({
      status: 'dead',
      reason: 'permanent error: no handler for job kind "work" in this worker',
    });
  });

  it('never rejects: a thrown non-Error becomes an Error, a throwing hook changes nothing', async () => {
    expect(await executor(failing('a string')).run(job(1))).toMatchObject({ status: 'retry', error: { message: 'a string' } });
    const noisy = executor(
      async () => 'fine',
      () => {
        throw new Error('hook bug');
      },
    );
    expect(await noisy.run(job(1))).toEqual({ status: 'completed', result: 'fine' });
    expect(noisy.lines.some((l) => l.msg === 'runtime hook failed')).toBe(true);
  });
});

describe('decide', () => {
  it('maps error classes to outcomes (pure but for jitter)', () => {
    expect(decide(new PermanentError('x'), job(1), backoff)).toMatchObject({ status: 'dead', reason: 'permanent error: x' });
    expect(decide(new RetryLaterError('slow', 4321), job(1), backoff)).toMatchObject({ status: 'retry', delayMs: 4321 });
    expect(decide(new JobCancelledError('c'), job(1), backoff)).toMatchObject({ status: 'cancelled' });
    expect(decide(new JobTimeoutError('t'), job(2), backoff, () => 0.5)).toMatchObject({ status: 'retry', delayMs: 200 });
    expect(decide('a string', job(1), backoff, () => 0.5)).toMatchObject({ status: 'retry', delayMs: 100 });
    expect(decide(new Error('e'), job(3), backoff)).toMatchObject({ status: 'dead', reason: 'failed 3 of 3 attempts' });
  });

  it('settlers see the decided outcome before the engine does; a throwing settler makes it a failed attempt', async () => {
    const order: string[] = [];
    const settled = executor(async () => 'ok', undefined, [
      async (_j, o) => void order.push(`a:${o.status}`),
      async (_j, o) => void order.push(`b:${o.status}`),
    ]);
    expect(await settled.run(job(1))).toEqual({ status: 'completed', result: 'ok' });
    expect(order).toEqual(['a:completed', 'b:completed']);

    const broken: Settler = async () => {
      throw new Error('store down');
    };
    const later = executor(async () => 'ok', undefined, [broken, async () => void order.push('never')]);
    expect(await later.run(job(1))).toMatchObject({ status: 'retry', delayMs: 100, error: { message: 'store down' } });
    expect(await later.run(job(3))).toMatchObject({ status: 'dead', reason: 'failed 3 of 3 attempts' });
    expect(order).not.toContain('never');
    expect(later.lines.some((l) => l.msg === 'settling the outcome failed')).toBe(true);
  });
});
