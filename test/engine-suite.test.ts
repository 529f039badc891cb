// The behavioural suite every engine must pass (River's riverdrivertest, in spirit). Each test gets
// its own engine (unique prefix/schema) from test/engines.ts. A capability an engine declares it
// lacks skips that test with a printed reason.
import { describe, expect, it, onTestFinished } from 'vitest';
import type { Engine, EngineCapabilities, JobView } from '../core/engine.ts';
import { PermanentError, RetryLaterError } from '../core/errors/index.ts';
import { type JobOptions, toEnqueueRequest, validateJob } from '../producers/enqueue.ts';
import type { HandlerMap, JobName, PayloadInput } from '../workers/catalog.ts';
import { handlers as defaultHandlers } from '../workers/diagnostics/handlers.ts';
import { startWorkers } from '../workers/runtime.ts';
import { engineFactories } from './engines.ts';
import { quietLogger, testConfig, waitFor } from './helpers.ts';

const retention = testConfig();

function request<N extends JobName>(name: N, data: PayloadInput<N>, options: JobOptions = {}, jobId?: string) {
  const v = validateJob({ name, data, options });
  if (!v.ok) throw new Error(`bad test job: ${JSON.stringify(v.details)}`);
  return toEnqueueRequest(v.job, retention, { requestId: 'test-request' }, Date.now(), jobId);
}

for (const factory of engineFactories) {
  describe(`engine: ${factory.name}`, async () => {
    const why = await factory.unavailable?.();
    if (why) {
      console.warn(`engine suite for ${factory.name} skipped: ${why}`);
      it.skip(`${factory.name} unavailable: ${why}`, () => {});
      return;
    }

    async function make(opts?: Parameters<typeof factory.create>[0]) {
      const made = await factory.create(opts);
      onTestFinished(() => made.cleanup());
      return made.engine;
    }

    function work(engine: Engine, handlers: HandlerMap = defaultHandlers, concurrency = 5) {
      const rt = startWorkers({ engine, logger: quietLogger, handlers, queues: { default: concurrency } });
      onTestFinished(() => rt.close(2_000).then(() => undefined));
      return rt;
    }

    const state = (engine: Engine, id: string, wanted: JobView['state'][], timeoutMs = 15_000) =>
      waitFor(
        async () => {
          const j = await engine.getJob(id);
          return j && wanted.includes(j.state) ? j : false;
        },
        { timeoutMs, what: `job ${id} in ${wanted.join('|')}` },
      );

    const needs = (cap: keyof EngineCapabilities, engine: Engine) => {
      if (!engine.capabilities[cap]) {
        console.warn(`[${factory.name}] skipped: engine declares no ${cap} capability`);
        return false;
      }
      return true;
    };

    it('runs a job and reports it completed with its result and timestamps', async () => {
      const engine = await make();
      const { job, created } = await engine.enqueue(request('diagnostics.sleep', { ms: 0, tag: 'hello' }));
      expect(created).toBe(true);
      expect(job).toMatchObject({ name: 'diagnostics.sleep', queue: 'default', state: 'waiting', priority: 5 });
      work(engine);
      const done = await state(engine, job.id, ['completed']);
      expect(done.result).toMatchObject({ tag: 'hello', attempt: 1 });
      expect(done.attempts).toEqual({ made: 1, max: 3 });
      expect(done.data).toEqual({ ms: 0, fail: 'never', failAttempts: 0, tag: 'hello' });
      expect(done.error).toBeNull();
      expect(Date.parse(done.finishedAt ?? '')).toBeGreaterThanOrEqual(Date.parse(done.startedAt ?? ''));
    });

    it('getJobs reads many jobs in the order asked, null for an unknown id, each as getJob shows it', async () => {
      const engine = await make();
      const a = (await engine.enqueue(request('diagnostics.noop', { note: 'a' }))).job;
      const b = (await engine.enqueue(request('diagnostics.noop', { note: 'b' }, { delay: 60_000 }))).job;
      const unknown = '00000000-0000-4000-8000-000000000000';
      const got = await engine.getJobs([b.id, unknown, a.id]);
      expect(got.map((j) => j?.id ?? null)).toEqual([b.id, null, a.id]);
      expect(got[0]).toEqual(await engine.getJob(b.id));
      expect(got[2]).toEqual(await engine.getJob(a.id));
      expect(await engine.getJobs([])).toEqual([]);
    });

    it('runs higher priority (1) before lower (10), whatever the enqueue order', async () => {
      const engine = await make();
      if (!needs('priority', engine)) return;
      const order: string[] = [];
      const handlers: HandlerMap = {
        'diagnostics.noop': async (p) => {
          order.push(p.note ?? '');
          return null;
        },
      };
      for (const [note, priority] of [
        ['p10', 10],
        ['p5', 5],
        ['p1', 1],
        ['p7', 7],
        ['p1b', 1],
      ] as const) {
        await engine.enqueue(request('diagnostics.noop', { note }, { priority }));
      }
      work(engine, handlers, 1);
      await waitFor(() => order.length === 5, { what: 'all five ran' });
      expect(order).toEqual(['p1', 'p1b', 'p5', 'p7', 'p10']);
    });

    it('holds a delayed job until its time and a runAt job until then', async () => {
      const engine = await make();
      if (!needs('delay', engine)) return;
      const delayed = await engine.enqueue(request('diagnostics.noop', {}, { delay: 1_200 }));
      const runAt = new Date(Date.now() + 1_200).toISOString();
      const at = await engine.enqueue(request('diagnostics.noop', {}, { runAt }));
      expect(delayed.job.state).toBe('delayed');
      expect(at.job.state).toBe('delayed');
      expect(Date.parse(delayed.job.runAt ?? '')).toBeGreaterThan(Date.parse(delayed.job.createdAt));
      work(engine);
      for (const { job } of [delayed, at]) {
        const done = await state(engine, job.id, ['completed']);
        // never early: it may not start before it was due
        expect(Date.parse(done.startedAt ?? '')).toBeGreaterThanOrEqual(Date.parse(job.runAt ?? '') - 5);
      }
    });

    it('retries a failing job and completes it on a later attempt', async () => {
      const engine = await make();
      const { job } = await engine.enqueue(request('diagnostics.sleep', { ms: 0, fail: 'transient', failAttempts: 2 }, { attempts: 3 }));
      work(engine);
      const done = await state(engine, job.id, ['completed']);
      expect(done.result).toMatchObject({ attempt: 3 });
      expect(done.attempts.made).toBe(3);
    });

    it('dead-letters a job that exhausts its attempts, with error, stack and attempt history; replay runs it again', async () => {
      const engine = await make();
      let failing = true;
      const handlers: HandlerMap = {
        'diagnostics.noop': async () => {
          if (failing) throw new Error('downstream is down');
          return 'recovered';
        },
      };
      const { job } = await engine.enqueue(request('diagnostics.noop', {}, { attempts: 2 }));
      const rt = work(engine, handlers);
      const dead = await state(engine, job.id, ['dead']);
      expect(dead.error?.message).toContain('downstream is down');
      const letters = await engine.listDeadLetters(['default'], 10);
      expect(letters).toHaveLength(1);
      const letter = letters[0]!;
      expect(letter).toMatchObject({ id: job.id, name: 'diagnostics.noop', queue: 'default', data: {} });
      expect(letter.error.message).toBe('downstream is down');
      expect(letter.error.stack).toContain('Error: downstream is down');
      expect(letter.attempts.map((a) => a.attempt)).toEqual([1, 2]);
      expect(letter.reason).toMatch(/2 of 2 attempts/);
      expect((await engine.queueInfo(['default']))[0]?.counts.dead).toBe(1);

      failing = false;
      const replayed = await engine.replayDeadLetter(job.id, ['default']);
      expect(replayed?.id).toBe(job.id);
      const done = await state(engine, job.id, ['completed']);
      expect(done.result, JSON.stringify(done)).toBe('recovered');
      expect(await engine.listDeadLetters(['default'], 10)).toHaveLength(0);
      expect(await engine.replayDeadLetter(job.id, ['default'])).toBeNull();
      await rt.close(1_000);
    });

    it('dead-letters a PermanentError at once, without retries', async () => {
      const engine = await make();
      let runs = 0;
      const { job } = await engine.enqueue(request('diagnostics.noop', {}, { attempts: 5 }));
      work(engine, {
        'diagnostics.noop': async () => {
          runs++;
          throw new PermanentError('bad address');
        },
      });
      const dead = await state(engine, job.id, ['dead']);
      expect(runs).toBe(1);
      expect(dead.attempts.made).toBe(1);
      const [letter] = await engine.listDeadLetters(['default'], 10);
      expect(letter?.reason).toContain('permanent error: bad address');
    });

    it('retries a RetryLaterError after the hinted delay', async () => {
      const engine = await make();
      const starts: number[] = [];
      const { job } = await engine.enqueue(request('diagnostics.noop', {}, { attempts: 2 }));
      work(engine, {
        'diagnostics.noop': async () => {
          starts.push(Date.now());
          if (starts.length === 1) throw new RetryLaterError('provider says slow down', 1_000);
          return null;
        },
      });
      await state(engine, job.id, ['completed']);
      expect(starts).toHaveLength(2);
      expect(starts[1]! - starts[0]!).toBeGreaterThanOrEqual(950);
    });

    it('dead-letters a job the worker cannot validate (schema checked on the worker side too)', async () => {
      const engine = await make();
      const req = request('diagnostics.sleep', { ms: 1 });
      req.data = { ms: 'soon' }; // as a producer that bypassed the API might send
      const { job } = await engine.enqueue(req);
      work(engine);
      await state(engine, job.id, ['dead']);
      const [letter] = await engine.listDeadLetters(['default'], 10);
      expect(letter?.reason).toMatch(/invalid payload: data\.ms/);
    });

    it('returns the existing job for a repeated idempotency key, even under concurrent duplicates', async () => {
      const engine = await make();
      const results = await Promise.all(
        Array.from({ length: 20 }, () => engine.enqueue(request('diagnostics.noop', { note: 'once' }, { idempotencyKey: 'order-42' }))),
      );
      expect(new Set(results.map((r) => r.job.id)).size).toBe(1);
      expect(results.filter((r) => r.created)).toHaveLength(1);
      const other = await engine.enqueue(request('diagnostics.noop', {}, { idempotencyKey: 'order-43' }));
      expect(other.job.id).not.toBe(results[0]?.job.id);
      const info = await engine.queueInfo(['default']);
      expect(info[0]?.counts.waiting).toBe(2);
    });

    it('collapses a repeated deterministic job id into one job', async () => {
      const engine = await make();
      const a = await engine.enqueue(request('diagnostics.noop', {}, {}, 'schedule-x-1000'));
      const b = await engine.enqueue(request('diagnostics.noop', {}, {}, 'schedule-x-1000'));
      expect(a.created).toBe(true);
      expect(b.created).toBe(false);
      expect(b.job.id).toBe('schedule-x-1000');
      expect((await engine.queueInfo(['default']))[0]?.counts.waiting).toBe(1);
    });

    it('cancels waiting and delayed jobs: they never run', async () => {
      const engine = await make();
      const waiting = await engine.enqueue(request('diagnostics.noop', { note: 'w' }));
      const delayed = await engine.enqueue(request('diagnostics.noop', { note: 'd' }, { delay: 60_000 }));
      for (const { job } of [waiting, delayed]) {
        const r = await engine.cancel(job.id);
        expect(r.outcome).toBe('cancelled');
        expect((await engine.getJob(job.id))?.state).toBe('cancelled');
      }
      const ran: string[] = [];
      const marker = await engine.enqueue(request('diagnostics.noop', { note: 'after' }));
      work(engine, {
        'diagnostics.noop': async (p) => {
          ran.push(p.note ?? '');
          return null;
        },
      });
      await state(engine, marker.job.id, ['completed']);
      expect(ran).toEqual(['after']);
      expect((await engine.cancel(marker.job.id)).outcome).toBe('finished');
      expect((await engine.cancel('no-such-job')).outcome).toBe('not_found');
    });

    it('cancels an active job by firing its AbortSignal', async () => {
      const engine = await make();
      if (!needs('cancelActive', engine)) return;
      const { job } = await engine.enqueue(request('diagnostics.sleep', { ms: 60_000 }, { attempts: 3 }));
      work(engine);
      await state(engine, job.id, ['active']);
      const r = await engine.cancel(job.id);
      expect(r.outcome).toBe('cancelling');
      const cancelled = await state(engine, job.id, ['cancelled']);
      expect(cancelled.attempts.made).toBe(1); // not retried
      expect(await engine.listDeadLetters(['default'], 10)).toHaveLength(0);
    });

    it('fails a run that outlives its timeout, through the AbortSignal', async () => {
      const engine = await make();
      let sawAbort = false;
      const hung = Promise.withResolvers<void>();
      onTestFinished(() => hung.resolve());
      const { job } = await engine.enqueue(request('diagnostics.noop', {}, { timeout: 300, attempts: 1 }));
      work(engine, {
        'diagnostics.noop': async (_p, ctx) => {
          await new Promise<void>((resolve) =>
            ctx.signal.addEventListener('abort', () => {
              sawAbort = true;
              resolve();
            }),
          );
          await hung.promise; // ignores the signal after noticing it: the wrapper fails the run anyway
          return null;
        },
      });
      const dead = await state(engine, job.id, ['dead']);
      expect(sawAbort).toBe(true);
      expect(dead.error?.message).toMatch(/timed out after 300 ms/);
    });

    it('pauses and resumes a queue', async () => {
      const engine = await make();
      if (!needs('pause', engine)) return;
      await engine.pauseQueue('default');
      expect((await engine.queueInfo(['default']))[0]?.paused).toBe(true);
      const { job } = await engine.enqueue(request('diagnostics.noop', {}));
      work(engine);
      // a paused queue hands out nothing: the job is still waiting after the worker polled a few times
      const polls = await waitFor(
        async () => {
          const j = await engine.getJob(job.id);
          expect(j?.state).toBe('waiting');
          return true;
        },
        { what: 'still waiting' },
      );
      expect(polls).toBe(true);
      await engine.resumeQueue('default');
      await state(engine, job.id, ['completed']);
      expect((await engine.queueInfo(['default']))[0]?.paused).toBe(false);
    });

    it('reports counts per state and the age of the oldest waiting job, prioritized ones included', async () => {
      const engine = await make();
      await engine.enqueue(request('diagnostics.noop', {}, { priority: 3 }));
      await engine.enqueue(request('diagnostics.noop', {}, { delay: 60_000 }));
      const age = await waitFor(
        async () => {
          const [q] = await engine.queueInfo(['default']);
          return q && q.oldestWaitingAgeSeconds >= 0.2 ? q : false;
        },
        { what: 'oldest waiting age to grow' },
      );
      expect(age.counts).toMatchObject({ waiting: 1, delayed: 1, active: 0, dead: 0 });
      expect(age.oldestWaitingAgeSeconds).toBeLessThan(30);
      expect(age.paused).toBe(false);
    });

    it('holds a queue rate limit across two worker processes on one store', async () => {
      const made = await factory.create();
      onTestFinished(() => made.cleanup());
      const other = await made.twin();
      onTestFinished(() => other.close());
      const starts: number[] = [];
      const handlers = {
        'diagnostics.noop': async () => {
          starts.push(Date.now());
          return null;
        },
      } as HandlerMap;
      for (const engine of [made.engine, other]) {
        const rt = startWorkers({
          engine,
          logger: quietLogger,
          handlers,
          queues: { default: 5 },
          rateLimits: { default: { max: 4, durationMs: 1_000 } },
        });
        onTestFinished(() => rt.close(2_000).then(() => undefined));
      }
      await made.engine.enqueueMany(Array.from({ length: 16 }, () => request('diagnostics.noop', {})));
      await waitFor(() => starts.length >= 16, { timeoutMs: 20_000, what: '16 starts' });
      // 16 starts at 4 per window across both processes take four windows: the first lands somewhere in the
      // first window, the last at the start of the fourth, so at least 2 s lie between them. Counted per
      // process (8 per window) they take two, and the last lands at the start of the second: at most 1 s.
      // The bound sits between the two, so a start recorded late on a loaded machine (a handler runs some
      // time after its grant) does not fail a correct limit, and a per-process one still cannot pass.
      starts.sort((a, b) => a - b);
      expect((starts.at(-1) as number) - (starts[0] as number)).toBeGreaterThanOrEqual(1_500);
    });

    it('ages priorities: a priority-10 job that waited runs before fresh priority-1 jobs', async () => {
      const engine = await make({ priorityAgingMs: 100 });
      await engine.pauseQueue('default');
      const order: number[] = [];
      const handlers = {
        'diagnostics.sleep': async (p: { ms: number }) => {
          order.push(p.ms);
          return null;
        },
      } as HandlerMap;
      work(engine, handlers, 1); // its consumer sweeps the (paused) queue
      const old = (await engine.enqueue(request('diagnostics.sleep', { ms: 10 }, { priority: 10 }))).job;
      // nine aging periods (100 ms each) lift it from 10 to 1; the view shows the effective priority
      await waitFor(async () => (await engine.getJob(old.id))?.priority === 1, { timeoutMs: 10_000, what: 'aged to 1' });
      await engine.enqueueMany([1, 2, 3, 4, 5].map((ms) => request('diagnostics.sleep', { ms }, { priority: 1 })));
      await engine.resumeQueue('default');
      await waitFor(() => order.length === 6, { timeoutMs: 15_000, what: 'six runs' });
      expect(order[0]).toBe(10); // ahead of the priority-1 jobs that came after it reached 1
    });

    it('reports progress written by the handler', async () => {
      const engine = await make();
      if (!needs('progress', engine)) return;
      const { promise: gate, resolve: release } = Promise.withResolvers<void>();
      const { job } = await engine.enqueue(request('diagnostics.noop', {}));
      work(engine, {
        'diagnostics.noop': async (_p, ctx) => {
          await ctx.progress(42);
          await gate;
          return null;
        },
      });
      await waitFor(async () => (await engine.getJob(job.id))?.progress === 42, { what: 'progress 42' });
      release();
      await state(engine, job.id, ['completed']);
    });

    it('coalesces progress writes: 100 reports in a burst are a few writes and events, the last value wins', async () => {
      const engine = await make();
      if (!needs('progress', engine)) return;
      const { promise: gate, resolve: release } = Promise.withResolvers<void>();
      const { job } = await engine.enqueue(request('diagnostics.noop', {}));
      const events: string[] = [];
      const unwatch = await engine.watchJob(job.id, (e) => events.push(e.type));
      onTestFinished(unwatch);
      work(engine, {
        'diagnostics.noop': async (_p, ctx) => {
          for (let i = 1; i <= 100; i++) await ctx.progress(i);
          ctx.log.info('reported');
          await gate;
          return null;
        },
      });
      // within the write window (100 ms) the store holds the last value; before, every report was a write
      await waitFor(async () => (await engine.getJob(job.id))?.progress === 100, { what: 'progress 100 stored' });
      await waitFor(() => events.includes('progress'), { what: 'a progress event' });
      expect(events.filter((t) => t === 'progress').length).toBeLessThanOrEqual(3);
      release();
      expect((await state(engine, job.id, ['completed'])).progress).toBe(100);
    });

    it('keeps the last progress of a run: after many reports it completed with, and after a failed run', async () => {
      const engine = await make();
      if (!needs('progress', engine)) return;
      const done = (await engine.enqueue(request('diagnostics.noop', { note: 'many' }))).job;
      const failed = (await engine.enqueue(request('diagnostics.noop', { note: 'fails' }, { attempts: 3 }))).job;
      work(engine, {
        'diagnostics.noop': async (p, ctx) => {
          if (p.note === 'fails') {
            await ctx.progress(7);
            throw new RetryLaterError('later', 60_000); // sits delayed with what it reported
          }
          for (let i = 1; i <= 50; i++) await ctx.progress(i);
          return null;
        },
      });
      expect((await state(engine, done.id, ['completed'])).progress).toBe(50);
      const retried = await state(engine, failed.id, ['delayed']);
      expect(retried.progress).toBe(7);
    });
  });
}
