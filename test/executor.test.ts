// The executor's decision table, without an engine: each way a run can end and the one Outcome it gets,
// the same Outcome the hooks and the log line see.
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { CancelSignal, ConsumedJob, Outcome } from '../core/engine.ts';
import { RunCancel } from '../core/engines/shared.ts';
import { JobCancelledError, JobTimeoutError, PermanentError, RetryLaterError } from '../core/errors/index.ts';
import { decide, Executor, type JobHandler, type Settler } from '../core/executor.ts';

const backoff = { baseMs: 200, capMs: 5_000, jitter: 'full' as const };
const definitions = {
  work: { payload: z.object({ n: z.number().default(1) }), defaults: { priority: 5, attempts: 3, backoff, timeoutMs: 5_000 } },
  /** a kind with a time budget: 10 s from the first failure, 50 attempts at most */
  budgeted: {
    payload: z.object({}),
    defaults: { priority: 5, attempts: 50, backoff, timeoutMs: 5_000, retryForMs: 10_000 },
  },
};
/** the executor's clock (the retry budget's), pinned */
const NOW = Date.parse('2026-01-01T12:00:00.000Z');

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
    now: () => NOW,
    settlers,
    hooks: {
      onOutcome: (_job, outcome) => {
        seen.push(outcome);
        onOutcome?.();
      },
    },
  });
  const run = async (j: ConsumedJob, signal: CancelSignal = new AbortController().signal) => {
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

  it('the engines’ RunCancel cancels a run like an AbortSignal: once, before or during the run, and the handler’s signal fires', async () => {
    let seen: AbortSignal | undefined;
    const { run } = executor(
      (_p, ctx) =>
        new Promise((_, reject) => {
          seen = ctx.signal;
          ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason));
        }),
    );
    const cancel = new RunCancel();
    const running = run(job(1), cancel);
    cancel.cancel('cancelled by request');
    cancel.cancel('a second cancel changes nothing');
    expect(await running).toMatchObject({ status: 'cancelled', attempt: { error: 'JobCancelledError: cancelled by request' } });
    expect(cancel.reason).toBe('cancelled by request');
    expect(seen?.reason).toBeInstanceOf(JobCancelledError);
    const early = new RunCancel();
    early.cancel('cancelled by request');
    expect(await run(job(1), early)).toMatchObject({ status: 'cancelled' });
    // a run that ended took its listener off: a late cancel reaches nobody
    const finished = new RunCancel();
    expect(await executor(async () => 'done').run(job(1), finished)).toMatchObject({ status: 'completed', result: 'done' });
    expect(() => finished.cancel('too late')).not.toThrow();
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

  it('the handler’s signal is made when read: already aborted with the run’s error when read after a timeout or a cancel', async () => {
    let late: AbortSignal | undefined;
    let release: () => void = () => {};
    const slow: JobHandler = (_p, ctx) =>
      new Promise<void>((resolve) => {
        release = () => {
          late = ctx.signal;
          resolve();
        };
      });
    const { run } = executor(slow);
    expect(await run(job(1, { meta: { timeoutMs: 30 } }))).toMatchObject({ status: 'retry', error: { name: 'JobTimeoutError' } });
    release();
    expect(late?.aborted).toBe(true);
    expect(late?.reason).toBeInstanceOf(JobTimeoutError);
    // a signal read before the cancel fires with it; the handler's own late result changes nothing
    let early: AbortSignal | undefined;
    const tooLate = Promise.withResolvers<unknown>();
    const reading: JobHandler = (_p, ctx) => {
      early = ctx.signal;
      return tooLate.promise;
    };
    const cancel = new AbortController();
    const running = executor(reading).run(job(1), cancel.signal);
    cancel.abort('cancelled by request');
    const out = await running;
    tooLate.resolve('too late');
    await tooLate.promise;
    expect(out).toMatchObject({ status: 'cancelled' });
    expect(early?.reason).toBeInstanceOf(JobCancelledError);
  });

  it('the context: ids, attempt, a logger and progress that work when destructured', async () => {
    const progressed: unknown[] = [];
    const { run } = executor(async (_p, { jobId, attempt, maxAttempts, progress, log, parents }) => {
      await progress(50);
      log.info('from the handler');
      return { jobId, attempt, maxAttempts, parents };
    });
    const out = await run(job(2, { updateProgress: async (p) => void progressed.push(p) }));
    expect(out).toEqual({ status: 'completed', result: { jobId: 'j1', attempt: 2, maxAttempts: 3, parents: {} } });
    expect(progressed).toEqual([50]);
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

  it('settlers with nothing to do return no promise: run in order with async ones; a synchronous throw is a failed attempt', async () => {
    const order: string[] = [];
    const mixed = executor(async () => 'ok', undefined, [
      (_j, o) => void order.push(`sync:${o.status}`),
      async (_j, o) => void order.push(`async:${o.status}`),
      (_j, o) => void order.push(`after:${o.status}`),
    ]);
    expect(await mixed.run(job(1))).toEqual({ status: 'completed', result: 'ok' });
    expect(order).toEqual(['sync:completed', 'async:completed', 'after:completed']);
    const throwing = executor(async () => 'ok', undefined, [
      () => {
        throw new Error('sync store down');
      },
      () => void order.push('never'),
    ]);
    expect(await throwing.run(job(1))).toMatchObject({ status: 'retry', delayMs: 100, error: { message: 'sync store down' } });
    expect(order).not.toContain('never');
  });
});

describe('decide with a time budget (retryFor, docs/reliability.md)', () => {
  const budget = (elapsedMs: number, retryForMs = 10_000) => ({ retryForMs, elapsedMs });
  const j = (attempt: number, maxAttempts = 50) => job(attempt, { maxAttempts });

  it('retries after the kind’s backoff while the budget lasts; dead once it is spent, whatever the attempts', () => {
    expect(decide(new Error('e'), j(1), backoff, () => 0.5, budget(0))).toMatchObject({ status: 'retry', delayMs: 100 });
    expect(decide(new Error('e'), j(4), backoff, () => 0.5, budget(3_000))).toMatchObject({ status: 'retry', delayMs: 800 });
    expect(decide(new Error('e'), j(7), backoff, () => 0.5, budget(10_000))).toMatchObject({
      status: 'dead',
      reason: 'retry budget of 10s spent: failed 7 attempts over 10s',
    });
    expect(decide(new Error('e'), j(7), backoff, () => 0.5, budget(12_500))).toMatchObject({ status: 'dead' });
  });

  it('no retry goes past the budget: the last one is clamped to its end', () => {
    // 9.9 s gone, the backoff would say 2.5 s (cap 5 s, jitter 0.5): the retry waits the 100 ms left
    expect(decide(new Error('e'), j(10), backoff, () => 0.5, budget(9_900))).toMatchObject({ status: 'retry', delayMs: 100 });
    // a RetryLaterError's hint too
    expect(decide(new RetryLaterError('later', 60_000), j(2), backoff, () => 0.5, budget(1_000))).toMatchObject({ delayMs: 9_000 });
  });

  it('the cap stretches so the attempts left span the budget; the last retry waits for the budget’s end', () => {
    // 3 attempts over 10 s: after the 1st failure the cap is max(5 s, 10 s / 2): delay min(5 s, 200·2^0)·0.5
    expect(decide(new Error('e'), j(1, 3), backoff, () => 0.5, budget(0))).toMatchObject({ delayMs: 100 });
    // one retry left after the 2nd failure at 0.1 s: it runs at the budget's end
    expect(decide(new Error('e'), j(2, 3), backoff, () => 0.5, budget(100))).toMatchObject({ status: 'retry', delayMs: 9_900 });
    // and when that last attempt fails, attempts are exhausted
    expect(decide(new Error('e'), j(3, 3), backoff, () => 0.5, budget(10_000))).toMatchObject({
      status: 'dead',
      reason: 'failed 3 of 3 attempts',
    });
    // a budget of 1 h over 3 attempts: the cap rises to 30 min
    expect(
      decide(new Error('e'), j(1, 3), { baseMs: 3_600_000, capMs: 1_000, jitter: 'none' }, Math.random, budget(0, 3_600_000)),
    ).toMatchObject({
      delayMs: 1_800_000,
    });
  });

  it('a permanent error or a cancel ignores the budget', () => {
    expect(decide(new PermanentError('x'), j(1), backoff, () => 0.5, budget(0))).toMatchObject({
      status: 'dead',
      reason: 'permanent error: x',
    });
    expect(decide(new JobCancelledError('c'), j(1), backoff, () => 0.5, budget(0))).toMatchObject({ status: 'cancelled' });
  });

  it('the executor takes the budget from the kind, or the job’s own meta, and the first failure from the engine', async () => {
    const ex = executor(failing(new Error('down')));
    const firstFailedAt = async () => new Date(NOW - 4_000).toISOString();
    const kindJob = (attempt: number, over: Partial<ConsumedJob> = {}) =>
      job(attempt, { name: 'budgeted', maxAttempts: 50, firstFailedAt, ...over });
    // 4 s of the kind's 10 s gone at attempt 5: backoff min(5 s, 200·2^4)·0.5 = 1.6 s
    expect(await ex.run(kindJob(5))).toMatchObject({ status: 'retry', delayMs: 1_600 });
    // the job's own 3 s budget is spent
    expect(await ex.run(kindJob(5, { meta: { retryForMs: 3_000 } }))).toMatchObject({
      status: 'dead',
      reason: expect.stringContaining('retry budget of 3s spent'),
    });
    // the first failure is not read on the first attempt; an unreadable history counts as no time gone
    const unread = async () => {
      throw new Error('must not be read');
    };
    expect(await ex.run(kindJob(1, { firstFailedAt: unread }))).toMatchObject({ status: 'retry', delayMs: 100 });
    expect(await ex.run(kindJob(5, { firstFailedAt: unread, meta: { retryForMs: 3_000 } }))).toMatchObject({ status: 'retry' });
    // without a budget, attempts alone decide (work: 3 attempts)
    expect(await ex.run(job(3, { firstFailedAt }))).toMatchObject({ status: 'dead', reason: 'failed 3 of 3 attempts' });
  });
});
