// The scheduler on each engine with real processes: three replicas enqueue exactly one job per slot,
// catch-up after downtime follows the misfire policy, runtime changes reach every replica, and the
// HTTP API rejects invalid definitions naming the field.
import { afterAll, beforeAll, expect, it, onTestFinished } from 'vitest';
import { createBackend } from '../core/engines/factory.ts';
import { type StoredSchedule, slotJobId } from '../scheduler/definition.ts';
import { storeRunCoordinator } from '../scheduler/run-coordinator.ts';
import { Scheduler } from '../scheduler/scheduler.ts';
import { queueNames } from '../workers/catalog.ts';
import { describeEngines, jobsOf } from './engines.ts';
import { dropEngineData, type EngineName, engineEnv, quietLogger, setup, testConfig, uniquePrefix, waitFor } from './helpers.ts';
import { type SchedulerProcess, spawnScheduler, waitStarted } from './scheduler-processes.ts';

const stored = (name: string, cron: string, extra: Partial<StoredSchedule> = {}): StoredSchedule => ({
  name,
  cron,
  timezone: 'UTC',
  job: { name: 'diagnostics.noop', data: { note: name }, options: {} },
  misfire: { policy: 'skip', max: 100 },
  enabled: true,
  notBeforeMs: Date.now(),
  updatedAtMs: Date.now(),
  ...extra,
});

/**
 * The backend on `prefix` (what scheduler processes spawned there use) and its schedule store; `start()`
 * installs the store as the release step does before any process starts, `close()` drops everything.
 */
function storeOn(engine: EngineName, prefix: string) {
  const config = testConfig({ ...engineEnv(engine), QUEUE_PREFIX: prefix });
  const backend = createBackend(config, quietLogger, { queues: queueNames });
  return {
    backend,
    store: backend.schedules<StoredSchedule>(),
    jobs: () => jobsOf[engine](backend.engine, 'default'),
    start: async () => backend.release?.run(),
    close: async () => {
      await backend.close();
      await dropEngineData(config);
    },
  };
}

const slotOf = (name: string, id: string) => (id.startsWith(`schedule-${name}-`) ? Number(id.slice(`schedule-${name}-`.length)) : null);

describeEngines('three scheduler processes', (engine) => {
  const prefix = uniquePrefix('sched');
  const { store, jobs: defaultJobs, start, close } = storeOn(engine, prefix);
  let procs: SchedulerProcess[] = [];

  beforeAll(async () => {
    await start();
    procs = [0, 1, 2].map(() => spawnScheduler(prefix, engineEnv(engine)));
    await waitStarted(procs);
  }, 60_000);

  afterAll(async () => {
    await Promise.all(procs.map((p) => p.stop()));
    await close();
  }, 30_000);

  it('an every-second schedule: over N seconds exactly N jobs, one per slot', async () => {
    await store.put(stored('tick', '* * * * * *'));
    await waitFor(() => procs.every((p) => p.logged('schedule armed', 'tick') > 0), {
      timeoutMs: 20_000,
      what: 'tick armed on all replicas',
    });
    const N = 6;
    const first = Math.ceil(Date.now() / 1000) * 1000 + 1000;
    const slots = Array.from({ length: N }, (_, i) => first + i * 1000);
    const jobs = await waitFor(
      async () => {
        const all = await defaultJobs();
        return slots.every((s) => all.has(slotJobId('tick', s))) && Date.now() > (slots.at(-1) as number) + 1000 ? all : null;
      },
      { timeoutMs: 30_000, intervalMs: 100, what: `jobs for ${N} slots` },
    );
    const inWindow = [...jobs.keys()].filter((id) => {
      const s = slotOf('tick', id);
      return s !== null && s >= first && s <= (slots.at(-1) as number);
    });
    expect(inWindow.sort()).toEqual(slots.map((s) => slotJobId('tick', s)).sort());
    // every job of this queue is a slot job of `tick` on a whole second (nothing enqueued under another id)
    for (const id of jobs.keys()) {
      const s = slotOf('tick', id);
      expect(s, id).not.toBeNull();
      expect((s as number) % 1000).toBe(0);
    }
    // node-cron's distributed mode went through our run coordinator (a slot every replica woke too late
    // for is enqueued by the catch-up pass instead, so this counts rather than requiring every slot)
    // (a claim that a replica holds is refused to us)
    const ours = await Promise.all(slots.map((slot) => store.claim(`tick:${new Date(slot).toISOString()}`, 60_000)));
    expect(ours.filter((mine) => !mine).length, 'slots claimed through the coordinator').toBeGreaterThan(0);
    await store.remove('tick');
    await waitFor(() => procs.every((p) => p.logged('schedule stopped', 'tick') > 0), { timeoutMs: 20_000, what: 'tick stopped' });
  }, 60_000);

  it('runtime create, pause, resume and delete through the API reach every replica', async () => {
    const t = await setup({ engine, QUEUE_PREFIX: prefix }); // the API on the replicas' prefix
    const put = async (name: string, cron: string) => {
      const r = await t.api('PUT', `/v1/schedules/${name}`, { cron, job: { name: 'diagnostics.noop', data: { note: name } } });
      expect(r.status, JSON.stringify(r.body)).toBe(201);
    };
    await put('pulse', '*/2 * * * * *');
    await put('control', '* * * * * *');
    const armed = (name: string, n: number) => () => procs.every((p) => p.logged('schedule armed', name) >= n);
    const stopped = (name: string, n: number) => () => procs.every((p) => p.logged('schedule stopped', name) >= n);
    const pulseJobs = async () => [...(await defaultJobs()).keys()].filter((id) => slotOf('pulse', id) !== null);
    await waitFor(armed('pulse', 1), { timeoutMs: 20_000, what: 'pulse armed everywhere' });
    await waitFor(async () => (await pulseJobs()).length > 0, { timeoutMs: 20_000, what: 'a pulse job' });

    // pause → every replica stops it, and no pulse job appears meanwhile
    expect((await t.api('POST', '/v1/schedules/pulse/pause')).body.enabled).toBe(false);
    await waitFor(stopped('pulse', 1), { timeoutMs: 20_000, what: 'pulse stopped everywhere' });
    const pausedAt = Date.now();
    const before = (await pulseJobs()).length;
    // let the control schedule prove that more slots went by
    await waitFor(async () => [...(await defaultJobs()).keys()].some((id) => (slotOf('control', id) ?? 0) > pausedAt + 3000), {
      timeoutMs: 20_000,
      what: 'control slots after the pause',
    });
    expect((await pulseJobs()).length).toBe(before);

    // resume: slots missed while paused never fire
    const resumedAt = Date.now();
    expect((await t.api('POST', '/v1/schedules/pulse/resume')).body.enabled).toBe(true);
    await waitFor(armed('pulse', 2), { timeoutMs: 20_000, what: 'pulse re-armed everywhere' });
    await waitFor(async () => (await pulseJobs()).length > before, { timeoutMs: 20_000, what: 'pulse fires again' });
    for (const id of await pulseJobs()) {
      const slot = slotOf('pulse', id) as number;
      expect(slot <= pausedAt || slot > resumedAt, `no slot of the paused period: ${id}`).toBe(true);
    }
    const listed = (await t.api('GET', '/v1/schedules/pulse')).body;
    expect(listed.lastSlot).not.toBeNull();
    expect(listed.lastJob.id).toMatch(/^schedule-pulse-\d+$/);

    expect((await t.api('DELETE', '/v1/schedules/pulse')).status).toBe(204);
    expect((await t.api('DELETE', '/v1/schedules/control')).status).toBe(204);
    await waitFor(stopped('pulse', 2), { timeoutMs: 20_000, what: 'pulse deleted everywhere' });
    await waitFor(stopped('control', 1), { timeoutMs: 20_000, what: 'control deleted everywhere' });
  }, 90_000);
});

describeEngines('catch-up after downtime', (engine) => {
  it('fires DST slots by our rule on a fake clock (node-cron does not fire them there)', async () => {
    const t = await setup({ engine });
    const defaultJobs = () => jobsOf[engine](t.engine, 'default');
    const store = t.backend.schedules<StoredSchedule>();
    let now = Date.parse('2026-03-29T01:00:03Z'); // 03:00:03 CEST, just after the spring-forward gap
    const scheduler = new Scheduler({
      config: t.config,
      logger: quietLogger,
      engine: t.engine,
      store,
      coordinator: storeRunCoordinator(store),
      codeSchedules: [],
      now: () => now,
    });
    onTestFinished(() => scheduler.stop());
    const berlin = { timezone: 'Europe/Berlin', notBeforeMs: 0 };
    await store.put(stored('gap', '30 2 * * *', berlin));
    await store.recordFired('gap', Date.parse('2026-03-28T01:30:00Z'), null);
    await scheduler.sync();
    // 02:30 does not exist that day: it fires once, at 03:00 CEST
    expect([...(await defaultJobs()).keys()]).toEqual([slotJobId('gap', Date.parse('2026-03-29T01:00:00Z'))]);

    await store.put(stored('repeat', '30 2 * * *', berlin));
    await store.recordFired('repeat', Date.parse('2026-10-24T00:30:00Z'), null);
    now = Date.parse('2026-10-25T00:30:03Z'); // 02:30:03 CEST, the first of the two 02:30s
    await scheduler.sync();
    now = Date.parse('2026-10-25T01:30:03Z'); // 02:30:03 CET, the second
    await scheduler.sync();
    const repeat = [...(await defaultJobs()).keys()].filter((id) => slotOf('repeat', id) !== null);
    expect(repeat).toEqual([slotJobId('repeat', Date.parse('2026-10-25T00:30:00Z'))]);
  });

  it('enqueues missed slots per policy (skip / once / all with a cap) when a scheduler starts', async () => {
    const prefix = uniquePrefix('catchup');
    const { store, jobs: defaultJobs, start, close } = storeOn(engine, prefix);
    await start();
    const now = Date.now();
    // hourly at a minute half an hour away: no slot can come due while the test runs
    const minute = (new Date(now).getUTCMinutes() + 30) % 60;
    const cron = `0 ${minute} * * * *`;
    const latestMissed = (() => {
      const d = new Date(now);
      d.setUTCMinutes(minute, 0, 0);
      return d.getTime() > now ? d.getTime() - 3_600_000 : d.getTime();
    })();
    const missed = Array.from({ length: 10 }, (_, i) => latestMissed - (9 - i) * 3_600_000); // 10 slots, oldest first
    const last = (missed[0] as number) - 3_600_000; // the scheduler handled the slot before them, then went down
    const policies = {
      skip: { policy: 'skip', max: 100 },
      once: { policy: 'once', max: 100 },
      all: { policy: 'all', max: 100 },
      cap: { policy: 'all', max: 3 },
    } as const;
    for (const [name, misfire] of Object.entries(policies)) {
      await store.put(stored(name, cron, { misfire, notBeforeMs: last - 1 }));
      await store.recordFired(name, last, null);
    }
    const proc = spawnScheduler(prefix, engineEnv(engine));
    try {
      await waitStarted([proc]);
      await waitFor(
        async () => {
          const states = await store.states();
          return Object.keys(policies).every((n) => states.get(n)?.lastSlotMs === latestMissed);
        },
        { timeoutMs: 20_000, what: 'every schedule handled its missed slots' },
      );
      const jobs = [...(await defaultJobs()).keys()];
      const of = (name: string) =>
        jobs
          .map((id) => slotOf(name, id))
          .filter((s): s is number => s !== null)
          .sort((a, b) => a - b);
      expect(of('skip')).toEqual([]);
      expect(of('once')).toEqual([latestMissed]);
      expect(of('all')).toEqual(missed);
      expect(of('cap')).toEqual(missed.slice(-3));
      // a restart does not enqueue them again
      await proc.stop();
      const again = spawnScheduler(prefix, engineEnv(engine));
      try {
        await waitStarted([again]);
        await waitFor(() => again.logged('scheduler started') > 0);
        expect([...(await defaultJobs()).keys()].sort()).toEqual(jobs.sort());
      } finally {
        await again.stop();
      }
    } finally {
      await proc.stop();
      await close();
    }
  }, 90_000);
});

describeEngines('schedules HTTP API', (engine) => {
  it('rejects invalid definitions naming each field', async () => {
    const t = await setup({ engine });
    const bad = await t.api('PUT', '/v1/schedules/nightly', {
      cron: '0 61 * * *',
      timezone: 'Atlantis/Capital',
      job: { name: 'diagnostics.sleep', data: { ms: 'soon' } },
      misfire: 'sometimes',
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('invalid_request');
    expect(bad.body.error.details.map((d: { path: string }) => d.path)).toEqual(expect.arrayContaining(['misfire']));
    const bad2 = await t.api('PUT', '/v1/schedules/nightly', {
      cron: '0 61 * * *',
      timezone: 'Atlantis/Capital',
      job: { name: 'diagnostics.sleep', data: { ms: 'soon' } },
    });
    expect(bad2.status).toBe(400);
    const paths = bad2.body.error.details.map((d: { path: string }) => d.path);
    expect(paths).toEqual(expect.arrayContaining(['cron', 'timezone', 'job.data.ms']));
    expect(bad2.body.error.requestId).toBeTruthy();
    const unknownKind = await t.api('PUT', '/v1/schedules/nightly', { cron: '0 3 * * *', job: { name: 'no.such' } });
    expect(unknownKind.status).toBe(400);
    expect(unknownKind.body.error.details[0].path).toBe('job.name');
    const badName = await t.api('PUT', '/v1/schedules/Has:Colon', { cron: '0 3 * * *', job: { name: 'diagnostics.noop' } });
    expect(badName.status).toBe(400);
    expect(badName.body.error.details[0].path).toBe('name');
    expect((await t.api('GET', '/v1/schedules', undefined, { key: null })).status).toBe(401);
  });

  it('creates, lists, runs, pauses, resumes and deletes; code schedules cannot be deleted', async () => {
    const t = await setup({ engine });
    const body = { cron: '30 2 * * *', timezone: 'Europe/Berlin', job: { name: 'diagnostics.noop', data: { note: 'n' } }, misfire: 'once' };
    const created = await t.api('PUT', '/v1/schedules/nightly', body);
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'nightly', source: 'runtime', enabled: true, misfire: { policy: 'once', max: 100 } });
    expect(created.body.nextRuns).toHaveLength(5);
    expect(new Date(created.body.nextRuns[0]).getTime()).toBeGreaterThan(Date.now());
    expect((await t.api('PUT', '/v1/schedules/nightly', { ...body, cron: '0 3 * * *' })).status).toBe(200);

    const list = await t.api('GET', '/v1/schedules');
    expect(list.status).toBe(200);
    const names = list.body.schedules.map((s: { name: string }) => s.name);
    expect(names).toEqual(expect.arrayContaining(['nightly', 'dead-letter-digest', 'retention-cleanup']));

    const run = await t.api('POST', '/v1/schedules/nightly/run');
    expect(run.status).toBe(202);
    expect(run.body.id).toMatch(/^schedule-nightly-run-/);
    expect((await t.engine.getJob(run.body.id))?.name).toBe('diagnostics.noop');
    const afterRun = await t.api('GET', '/v1/schedules/nightly');
    expect(afterRun.body.lastJob).toEqual({ id: run.body.id, state: 'waiting' });

    const paused = await t.api('POST', '/v1/schedules/nightly/pause');
    expect(paused.body).toMatchObject({ enabled: false, nextRuns: [] });
    const resumed = await t.api('POST', '/v1/schedules/nightly/resume');
    expect(resumed.body.enabled).toBe(true);

    // a code schedule: pause stores an override; delete is refused
    const pausedDigest = await t.api('POST', '/v1/schedules/dead-letter-digest/pause');
    expect(pausedDigest.body).toMatchObject({ enabled: false, source: 'runtime', overridesCode: true });
    expect((await t.api('DELETE', '/v1/schedules/retention-cleanup')).status).toBe(409);

    // scopes: a key limited to diagnostics.noop may not read or manage schedules
    expect((await t.api('GET', '/v1/schedules', undefined, { key: t.keys.noopOnly })).status).toBe(403);
    expect((await t.api('POST', '/v1/schedules/nightly/run', undefined, { key: t.keys.noopOnly })).status).toBe(403);

    expect((await t.api('DELETE', '/v1/schedules/nightly')).status).toBe(204);
    expect((await t.api('DELETE', '/v1/schedules/nightly')).status).toBe(404);
    expect((await t.api('POST', '/v1/schedules/nightly/run')).status).toBe(404);
  });
});
