// pg-boss engine specifics beyond the shared engine suite: transactional enqueue, NOTIFY pickup and
// cancel across processes (two engines on one schema), stalled-job recovery, idempotent migrations,
// the scheduler on Postgres (its store's contract: test/stores-contract.test.ts). Real PostgreSQL
// (DATABASE_URL or 127.0.0.1:5432/test), a schema per test.
import pg from 'pg';
import { describe, expect, it, onTestFinished } from 'vitest';
import type { Engine } from '../core/engine.ts';
import type { PgbossEngine } from '../core/engines/pgboss/engine.ts';
import { PostgresScheduleStore } from '../core/engines/pgboss/stores/schedules.ts';
import { ApiError } from '../core/http/api-error.ts';
import { type JobOptions, toEnqueueRequest, validateJob } from '../producers/enqueue.ts';
import { enqueueInTransaction } from '../producers/transactional.ts';
import { type StoredSchedule, slotJobId } from '../scheduler/definition.ts';
import { storeRunCoordinator } from '../scheduler/run-coordinator.ts';
import { Scheduler } from '../scheduler/scheduler.ts';
import type { HandlerMap, JobName, PayloadInput } from '../workers/catalog.ts';
import { queueNames } from '../workers/catalog.ts';
import { startWorkers } from '../workers/runtime.ts';
import { quietLogger, testConfig, waitFor } from './helpers.ts';
import { DATABASE_URL, dropSchema, makePgbossEngine, postgresUnavailable, uniqueSchema } from './pgboss-helpers.ts';

const retention = testConfig();
const why = await postgresUnavailable();
if (why) console.warn(`pg-boss tests skipped: ${why}`);

function request<N extends JobName>(name: N, data: PayloadInput<N>, options: JobOptions = {}) {
  const v = validateJob({ name, data, options });
  if (!v.ok) throw new Error(`bad test job: ${JSON.stringify(v.details)}`);
  return toEnqueueRequest(v.job, retention, {});
}

/** Another engine on an existing schema (a second process, in effect); closed after the test, schema kept. */
function engineOn(
  schema: string,
  opts: { pollIntervalMs?: number; heartbeatSeconds?: number; retentionCounts?: { completed?: number; failed?: number } } = {},
) {
  const { engine } = makePgbossEngine({ schema, superviseIntervalSeconds: 1, ...opts });
  onTestFinished(() => engine.close());
  return engine;
}

function fresh() {
  const made = makePgbossEngine();
  onTestFinished(made.cleanup);
  return made;
}

function work(engine: Engine, handlers: HandlerMap, concurrency = 5) {
  const rt = startWorkers({ engine, logger: quietLogger, handlers, queues: { default: concurrency } });
  onTestFinished(() => rt.close(1_000).then(() => undefined));
  return rt;
}

describe.skipIf(!!why)('pg-boss engine', () => {
  it('enqueues inside the caller’s transaction: rolled back leaves no job, committed runs', async () => {
    const { engine } = fresh();
    await engine.start();
    const client = new pg.Client({ connectionString: DATABASE_URL });
    await client.connect();
    onTestFinished(() => client.end());

    await client.query('BEGIN');
    const rolledBack = await enqueueInTransaction(engine, client, 'diagnostics.noop', { note: 'rolled back' });
    // visible inside the transaction, invisible outside it
    expect((await engine.getJob(rolledBack.job.id, ['default'], (t, v) => client.query(t, v)))?.state).toBe('waiting');
    expect(await engine.getJob(rolledBack.job.id)).toBeNull();
    await client.query('ROLLBACK');
    expect(await engine.getJob(rolledBack.job.id)).toBeNull();

    const ran: string[] = [];
    work(engine, {
      'diagnostics.noop': async (p) => {
        ran.push(p.note ?? '');
        return null;
      },
    });
    await client.query('BEGIN');
    const committed = await enqueueInTransaction(engine, client, 'diagnostics.noop', { note: 'committed' });
    await client.query('COMMIT');
    await waitFor(async () => (await engine.getJob(committed.job.id))?.state === 'completed', {
      what: 'committed job completed',
      timeoutMs: 20_000,
    });
    expect(ran).toEqual(['committed']);
    const [info] = await engine.queueInfo(['default']);
    expect(info?.counts.completed).toBe(1);
  });

  it('rejects an invalid transactional enqueue naming the field', async () => {
    const { engine } = fresh();
    const client = new pg.Client({ connectionString: DATABASE_URL });
    await client.connect();
    onTestFinished(() => client.end());
    const err = await enqueueInTransaction(engine, client, 'diagnostics.sleep', { ms: 'soon' } as never).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).details.map((d) => d.path)).toContain('data.ms');
  });

  it('wakes a worker in another process by NOTIFY, not by its poll (backstop poll 60 s)', async () => {
    const schema = uniqueSchema('notify');
    onTestFinished(() => dropSchema(schema));
    const consumerSide = engineOn(schema, { pollIntervalMs: 60_000 });
    const producerSide = engineOn(schema);
    await consumerSide.start();
    await producerSide.start();
    let seen = 0;
    work(consumerSide, {
      'diagnostics.noop': async () => {
        seen++;
        return null;
      },
    });
    // a first job, however it is picked up (the consumer's first fetch, or NOTIFY): once it is done, the
    // consumer has drained the queue and waits on NOTIFY or its 60 s poll
    const first = (await producerSide.enqueue(request('diagnostics.noop', {}))).job;
    await waitFor(async () => (await producerSide.getJob(first.id))?.state === 'completed', { what: 'the first job', timeoutMs: 20_000 });
    const { job } = await producerSide.enqueue(request('diagnostics.noop', {}));
    await waitFor(async () => (await producerSide.getJob(job.id))?.state === 'completed', {
      what: 'picked up by NOTIFY',
      timeoutMs: 20_000,
    });
    expect(seen).toBe(2);
  });

  it('cancels a job running in another process through the cancel channel', async () => {
    const schema = uniqueSchema('cancel');
    onTestFinished(() => dropSchema(schema));
    const workerSide = engineOn(schema);
    const apiSide = engineOn(schema);
    let aborted = false;
    const { job } = await apiSide.enqueue(request('diagnostics.noop', {}, { attempts: 3 }));
    work(workerSide, {
      'diagnostics.noop': async (_p, ctx) => {
        await new Promise<void>((resolve) =>
          ctx.signal.addEventListener('abort', () => {
            aborted = true;
            resolve();
          }),
        );
        return null;
      },
    });
    await waitFor(async () => (await apiSide.getJob(job.id))?.state === 'active', { what: 'active' });
    expect((await apiSide.cancel(job.id)).outcome).toBe('cancelling');
    await waitFor(() => aborted, { what: 'abort signal in the worker process' });
    const final = await waitFor(async () => {
      const j = await apiSide.getJob(job.id);
      return j?.state === 'cancelled' && j;
    });
    expect(final.attempts.made).toBe(1);
  });

  it('retries a job whose worker went away (no heartbeat) in another worker', async () => {
    const schema = uniqueSchema('stall');
    onTestFinished(() => dropSchema(schema));
    const first = engineOn(schema);
    const second = engineOn(schema);
    const { job } = await first.enqueue(request('diagnostics.noop', {}, { attempts: 3 }));
    const rt = startWorkers({
      engine: first,
      logger: quietLogger,
      handlers: { 'diagnostics.noop': () => new Promise(() => {}) }, // hangs, as a killed process would
      queues: { default: 1 },
    });
    await waitFor(async () => (await first.getJob(job.id))?.state === 'active', { what: 'active' });
    expect(await rt.close(0)).toEqual({ abandoned: 1 });
    await first.close(); // its heartbeats stop with it
    const attempts: number[] = [];
    work(second, {
      'diagnostics.noop': async (_p, ctx) => {
        attempts.push(ctx.attempt);
        return 'recovered';
      },
    });
    const done = await waitFor(
      async () => {
        const j = await second.getJob(job.id);
        return j?.state === 'completed' && j;
      },
      { what: 'recovered after the heartbeat lapsed', timeoutMs: 40_000 },
    );
    expect(done.result).toBe('recovered');
    expect(attempts).toEqual([1]); // a crash is not the job's failure: no attempt spent
  }, 60_000);

  it('fetches ahead while runs are fast and gives unstarted jobs back on close, attempts untouched', async () => {
    const { engine } = fresh();
    const reqs = Array.from({ length: 300 }, (_, i) => request('diagnostics.noop', { note: `n${i}` }));
    await engine.enqueueMany(reqs);
    let ran = 0;
    let release!: () => void;
    const gate = new Promise<null>((r) => {
      release = () => r(null);
    });
    const rt = startWorkers({
      engine,
      logger: quietLogger,
      handlers: { 'diagnostics.noop': async () => (++ran >= 100 ? gate : null) }, // fast, then one run hangs
      queues: { default: 1 },
    });
    await waitFor(() => ran >= 100, { what: '100 runs' });
    // fast runs made the consumer fetch ahead: more jobs are active than the one running
    const before = (await engine.queueInfo(['default']))[0];
    expect(before?.counts.active).toBeGreaterThan(1);
    const closing = rt.close(200);
    expect(await closing).toEqual({ abandoned: 1 });
    // read before letting the abandoned run finish: once released it may complete and leave `active`
    const after = (await engine.queueInfo(['default']))[0];
    expect(after?.counts.active).toBe(1); // only the abandoned run; the fetched-ahead ones went back
    expect((after?.counts.waiting ?? 0) + (after?.counts.completed ?? 0) + 1).toBe(300);
    const { rows } = await engine.pool.query(
      `SELECT count(*)::int AS n FROM ${engine.schema}.job WHERE name = 'default' AND state = 'retry' AND (started_on IS NOT NULL OR retry_count <> 0)`,
    );
    expect(rows[0].n).toBe(0); // given back as never started: their first run will be attempt 1
    release();
  });

  it('the throughput store’s first read and pg-boss’s install of the same fresh schema never race', async () => {
    // both create the schema: without the shared install lock one of them failed with a duplicate key on
    // pg_namespace about 1 time in 4 (GET /v1/scaling as the first request answered 500)
    for (let i = 0; i < 6; i++) {
      const { engine, backend, cleanup } = makePgbossEngine();
      onTestFinished(cleanup);
      const [started, read] = await Promise.allSettled([engine.start(), backend.throughput.read(['default'], 0, 1)]);
      expect(started.status, String((started as PromiseRejectedResult).reason)).toBe('fulfilled');
      expect(read).toEqual({ status: 'fulfilled', value: { default: 0 } });
    }
  });

  it('migrates idempotently: a second start and a release run change nothing', async () => {
    const { engine, schema } = fresh();
    await engine.migrate();
    const again = engineOn(schema);
    await again.migrate();
    await again.migrate();
    const { rows } = await engine.pool.query(`SELECT name FROM ${schema}.queue ORDER BY name`);
    expect(rows.map((r) => r.name)).toEqual(queueNames.flatMap((q) => [q, `${q}-dlq`]).sort());
  });

  it('fires an every-second schedule from two scheduler replicas: exactly one job per slot', async () => {
    const schema = uniqueSchema('sched');
    onTestFinished(() => dropSchema(schema));
    const engines = [engineOn(schema), engineOn(schema)];
    const config = testConfig({ SCHEDULER_RELOAD_MS: '200' });
    const store = new PostgresScheduleStore<StoredSchedule>(engines[0] as PgbossEngine);
    await store.put({
      name: 'tick',
      cron: '* * * * * *',
      timezone: 'UTC',
      job: { name: 'diagnostics.noop', data: { note: 'tick' }, options: {} },
      misfire: { policy: 'skip', max: 100 },
      enabled: true,
      notBeforeMs: Date.now(),
      updatedAtMs: Date.now(),
    });
    const schedulers = engines.map((engine) => {
      const replicaStore = new PostgresScheduleStore<StoredSchedule>(engine);
      return new Scheduler({
        config,
        logger: quietLogger,
        engine,
        store: replicaStore,
        coordinator: storeRunCoordinator(replicaStore),
        codeSchedules: [],
      });
    });
    for (const s of schedulers) await s.start();
    onTestFinished(() => Promise.all(schedulers.map((s) => s.stop())).then(() => undefined));
    const first = Math.ceil(Date.now() / 1000) * 1000 + 1000;
    const slots = [first, first + 1000, first + 2000];
    await waitFor(async () => (await Promise.all(slots.map((slot) => engines[0]?.getJob(slotJobId('tick', slot))))).every(Boolean), {
      what: 'a job for each of 3 slots',
      timeoutMs: 20_000,
    });
    const { rows } = await (engines[0] as PgbossEngine).pool.query(
      `SELECT data->'$conveyor'->>'id' AS id FROM ${schema}.job WHERE name = 'default'`,
    );
    const ids = rows.map((r) => r.id as string).filter((id) => slots.some((slot) => id === slotJobId('tick', slot)));
    expect(ids.sort()).toEqual(slots.map((slot) => slotJobId('tick', slot)).sort()); // one each, no duplicates
    // the slot's state is written after its job: wait for it rather than read it the moment the job exists
    const state = await waitFor(
      async () => {
        const s = (await store.states()).get('tick');
        return (s?.lastSlotMs ?? 0) >= (slots[2] as number) && s;
      },
      { what: 'the schedule state at the third slot', timeoutMs: 20_000 },
    );
    expect(state.lastSlotMs).toBeGreaterThanOrEqual(slots[2] as number);
  });

  it('keeps only the newest completed jobs by count, never trimming idempotent ones', async () => {
    const schema = uniqueSchema('trim');
    onTestFinished(() => dropSchema(schema));
    const engine = engineOn(schema, { retentionCounts: { completed: 2 } });
    await engine.enqueueMany(Array.from({ length: 5 }, (_, i) => request('diagnostics.noop', { note: `n${i}` })));
    const idem = await engine.enqueue(request('diagnostics.noop', { note: 'idem' }, { idempotencyKey: 'keep-me' }));
    work(engine, { 'diagnostics.noop': async () => null });
    await waitFor(async () => (await engine.queueInfo(['default']))[0]?.counts.completed === 6, { what: 'six completed' });
    await engine.trimByCount('default');
    expect((await engine.queueInfo(['default']))[0]?.counts.completed).toBe(3);
    expect((await engine.getJob(idem.job.id))?.state).toBe('completed');
  });
});
