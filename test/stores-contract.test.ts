// One contract suite per side store (core/stores.ts), run on both backends as the factory builds them
// (core/engines/factory.ts): real Redis and real PostgreSQL, each test with its own prefix or schema.
// A role a backend does not offer (null) says so; where it answers, the answer must be right. The last
// block checks where each store keeps its data: the keys and tables users' data already lives in.
import pg from 'pg';
import { describe, expect, it, onTestFinished } from 'vitest';
import type { Backend } from '../core/backend.ts';
import type { JobView } from '../core/engine.ts';
import { createRedis } from '../core/engines/bullmq/redis.ts';
import { createBackend, pgbossSchemaFor } from '../core/engines/factory.ts';
import { BUCKET_SECONDS, bucketOf, minuteOf, readFinished, readMinutes, ThroughputRecorder } from '../core/metrics/throughput.ts';
import { type JobOptions, toEnqueueRequest, validateJob } from '../producers/enqueue.ts';
import { type JobName, type PayloadInput, queueNames } from '../workers/catalog.ts';
import { handlers as defaultHandlers } from '../workers/diagnostics/handlers.ts';
import { startWorkers } from '../workers/runtime.ts';
import { dropPrefix, quietLogger, REDIS_URL, testConfig, uniquePrefix, waitFor } from './helpers.ts';
import { DATABASE_URL, dropSchema, postgresUnavailable } from './pgboss-helpers.ts';

interface Made {
  backend: Backend;
  prefix: string;
}

interface BackendFactory {
  name: string;
  storeName: string;
  unavailable?: () => Promise<string | undefined>;
  create(prefix: string): Backend;
  drop(prefix: string): Promise<void>;
}

const backendFactories: BackendFactory[] = [
  {
    name: 'bullmq',
    storeName: 'redis',
    create: (prefix) => createBackend(testConfig({ QUEUE_PREFIX: prefix }), quietLogger, { queues: queueNames }),
    drop: dropPrefix,
  },
  {
    name: 'pgboss',
    storeName: 'postgres',
    unavailable: postgresUnavailable,
    create: (prefix) =>
      createBackend(testConfig({ QUEUE_ENGINE: 'pgboss', DATABASE_URL, QUEUE_PREFIX: prefix }), quietLogger, { queues: queueNames }),
    drop: (prefix) => dropSchema(pgbossSchemaFor(prefix)),
  },
];

const retention = testConfig();
function request<N extends JobName>(name: N, data: PayloadInput<N>, options: JobOptions = {}) {
  const v = validateJob({ name, data, options });
  if (!v.ok) throw new Error(`bad test job: ${JSON.stringify(v.details)}`);
  return toEnqueueRequest(v.job, retention, {});
}

interface Sched {
  name: string;
  cron: string;
  note?: string;
}
interface Sent {
  messageId: string;
  at: string;
}
interface Doc {
  id: string;
  subject: string;
}

for (const factory of backendFactories) {
  describe(`side stores on ${factory.name}`, async () => {
    const why = await factory.unavailable?.();
    if (why) {
      console.warn(`store contract suite for ${factory.name} skipped: ${why}`);
      it.skip(`${factory.name} unavailable: ${why}`, () => {});
      return;
    }

    /** A backend of our own (unique prefix / schema), closed and dropped after the test. */
    function make(): Made {
      const prefix = uniquePrefix('st');
      const backend = factory.create(prefix);
      onTestFinished(async () => {
        await backend.close();
        await factory.drop(prefix);
      });
      return { backend, prefix };
    }

    /** Run one diagnostics.noop job to completion. */
    async function completedJob(backend: Backend, options: JobOptions = {}): Promise<JobView> {
      const rt = startWorkers({ engine: backend.engine, logger: quietLogger, handlers: defaultHandlers, queues: { default: 2 } });
      onTestFinished(() => rt.close(2_000).then(() => undefined));
      const { job } = await backend.engine.enqueue(request('diagnostics.noop', {}, options));
      return waitFor(
        async () => {
          const j = await backend.engine.getJob(job.id);
          return j?.state === 'completed' ? j : null;
        },
        { timeoutMs: 15_000, what: 'the job completed' },
      );
    }

    it('names its store for readiness', () => {
      const { backend } = make();
      expect(backend.storeName).toBe(factory.storeName);
      expect(backend.capabilities).toMatchObject(backend.engine.capabilities);
      expect(typeof backend.capabilities.sharedRateLimits).toBe('boolean');
    });

    describe('schedules', () => {
      it('keeps schedules by name and removes them with their firing state', async () => {
        const store = make().backend.schedules<Sched>();
        expect(await store.list()).toEqual([]);
        expect(await store.get('nightly')).toBeNull();
        await store.put({ name: 'nightly', cron: '0 3 * * *' });
        await store.put({ name: 'hourly', cron: '0 * * * *' });
        await store.put({ name: 'nightly', cron: '0 4 * * *', note: 'moved' }); // replaces
        expect(await store.get('nightly')).toEqual({ name: 'nightly', cron: '0 4 * * *', note: 'moved' });
        expect((await store.list()).map((s) => s.name).sort()).toEqual(['hourly', 'nightly']);
        await store.recordFired('nightly', 1_000, 'job-1');
        expect(await store.remove('nightly')).toBe(true);
        expect(await store.remove('nightly')).toBe(false);
        expect(await store.get('nightly')).toBeNull();
        expect((await store.states()).has('nightly')).toBe(false);
        expect((await store.list()).map((s) => s.name)).toEqual(['hourly']);
      });

      it('records firing state: the slot only moves forward, the last job is kept', async () => {
        const store = make().backend.schedules<Sched>();
        await store.recordFired('manual', null, 'job-m'); // a manual run: a job, no slot
        expect((await store.states()).get('manual')).toEqual({ lastSlotMs: null, lastJobId: 'job-m' });
        await store.recordFired('tick', 2_000, 'job-2');
        await store.recordFired('tick', 1_000, null); // an older slot: ignored, the job stays
        expect((await store.states()).get('tick')).toEqual({ lastSlotMs: 2_000, lastJobId: 'job-2' });
        await store.recordFired('tick', 3_000, null); // skipped by the misfire policy: a slot, no job
        expect((await store.states()).get('tick')).toEqual({ lastSlotMs: 3_000, lastJobId: 'job-2' });
        await store.recordFired('manual', 5_000, 'job-5');
        expect((await store.states()).get('manual')).toEqual({ lastSlotMs: 5_000, lastJobId: 'job-5' });
      });

      it('lets one replica claim a slot until the claim expires', async () => {
        const { backend } = make();
        const replicas = [backend.schedules<Sched>(), backend.schedules<Sched>(), backend.schedules<Sched>()];
        const claims = await Promise.all(replicas.map((s) => s.claim('tick:2026-01-01T00:00:00.000Z', 300)));
        expect(claims.filter(Boolean)).toHaveLength(1);
        expect(await replicas[0]?.claim('tick:2026-01-01T00:00:01.000Z', 60_000)).toBe(true); // another slot
        await waitFor(() => replicas[1]?.claim('tick:2026-01-01T00:00:00.000Z', 60_000), { timeoutMs: 5_000, what: 'the lapsed claim' });
        expect(await replicas[2]?.claim('tick:2026-01-01T00:00:00.000Z', 60_000)).toBe(false);
      });
    });

    describe('once-ledger', () => {
      it('lets one run go, holds off a concurrent one, and remembers what was done', async () => {
        const ledger = make().backend.ledger<Sent>('test:once', { ttlSeconds: 3600 });
        const first = await ledger.begin('job-1', 60_000);
        expect(first.state).toBe('go');
        const second = await ledger.begin('job-1', 60_000);
        expect(second).toMatchObject({ state: 'busy' });
        if (second.state === 'busy') expect(second.retryInMs).toBeGreaterThanOrEqual(1_000);
        expect(await ledger.get('job-1')).toBeNull(); // claimed, not done

        // releasing with someone else's token does nothing; with ours frees the claim
        await ledger.release('job-1', 'not-the-token');
        expect((await ledger.begin('job-1', 60_000)).state).toBe('busy');
        if (first.state !== 'go') throw new Error('unreachable');
        await ledger.release('job-1', first.token);
        const again = await ledger.begin('job-1', 60_000);
        expect(again.state).toBe('go');

        const record = { messageId: '<m@x>', at: new Date().toISOString() };
        await ledger.commit('job-1', record);
        expect(await ledger.begin('job-1', 60_000)).toEqual({ state: 'done', record });
        expect(await ledger.get('job-1')).toEqual(record);
        // a commit is final: a stale release cannot erase it
        if (again.state === 'go') await ledger.release('job-1', again.token);
        expect(await ledger.get('job-1')).toEqual(record);
        expect(await ledger.get('job-2')).toBeNull();
      });

      it('lets a claim lapse after its lease and a record after its TTL', async () => {
        const { backend } = make();
        const ledger = backend.ledger<Sent>('test:lapse', { ttlSeconds: 1 });
        expect((await ledger.begin('crashed', 200)).state).toBe('go');
        await waitFor(async () => (await ledger.begin('crashed', 60_000)).state === 'go', { timeoutMs: 5_000, what: 'the lapsed claim' });
        await ledger.commit('short', { messageId: '<s@x>', at: 'now' });
        expect(await ledger.get('short')).not.toBeNull();
        await waitFor(async () => (await ledger.get('short')) === null, { timeoutMs: 5_000, what: 'the expired record' });
        expect((await ledger.begin('short', 60_000)).state).toBe('go');
      });

      it('keeps ledgers of different names apart', async () => {
        const { backend } = make();
        const a = backend.ledger<Sent>('test:a', { ttlSeconds: 60 });
        const b = backend.ledger<Sent>('test:b', { ttlSeconds: 60 });
        await a.commit('k', { messageId: '<a@x>', at: 'a' });
        expect(await b.get('k')).toBeNull();
        expect((await b.begin('k', 60_000)).state).toBe('go');
      });
    });

    describe('generations', () => {
      it('reads 0 for a new key and moves one generation at a time, once per generation under races', async () => {
        const { backend } = make();
        const gens = backend.generations('test-gen', { ttlSeconds: 60 });
        const other = backend.generations('test-gen', { ttlSeconds: 60 }); // another process, in effect
        expect(await gens.read('k')).toBe(0);
        expect(await gens.advance('k', 0)).toBe(1);
        expect(await other.advance('k', 0)).toBe(1); // already moved past 0: unchanged
        expect(await other.read('k')).toBe(1);
        const raced = await Promise.all(Array.from({ length: 8 }, (_, i) => (i % 2 ? gens : other).advance('k', 1)));
        expect(new Set(raced)).toEqual(new Set([2]));
        expect(await gens.read('k')).toBe(2);
        expect(await gens.read('other-key')).toBe(0);
        expect(await backend.generations('test-gen-2', { ttlSeconds: 60 }).read('k')).toBe(0); // names are apart
      });
    });

    describe('recent list', () => {
      it('keeps the newest documents up to the cap, newest first', async () => {
        const { backend } = make();
        const list = backend.recentList<Doc>('test:recent');
        expect(await list.list(10)).toEqual([]);
        for (const n of [1, 2, 3]) await list.push({ id: `m${n}`, subject: `s${n}` }, 2);
        expect((await list.list(10)).map((d) => d.id)).toEqual(['m3', 'm2']);
        expect((await list.list(1)).map((d) => d.id)).toEqual(['m3']);
        expect(await list.get('m2')).toEqual({ id: 'm2', subject: 's2' });
        expect(await list.get('m1')).toBeNull(); // dropped by the cap
        const other = backend.recentList<Doc>('test:other');
        expect(await other.list(10)).toEqual([]);
        await list.clear();
        expect(await list.list(10)).toEqual([]);
        expect(await list.get('m3')).toBeNull();
      });
    });

    describe('records', () => {
      it('keeps named records, replaces on put, removes, and keeps stores of different names apart', async () => {
        const { backend } = make();
        const store = backend.records<Sched>('test-kinds');
        expect(await store.list()).toEqual([]);
        expect(await store.get('b')).toBeNull();
        await store.put({ name: 'b', cron: '* * * * *' });
        await store.put({ name: 'a', cron: '0 * * * *', note: 'ünïcode' });
        await store.put({ name: 'b', cron: '*/5 * * * *' });
        expect(await store.list()).toEqual([
          { name: 'a', cron: '0 * * * *', note: 'ünïcode' },
          { name: 'b', cron: '*/5 * * * *' },
        ]);
        expect(await store.get('b')).toEqual({ name: 'b', cron: '*/5 * * * *' });
        expect(await backend.records<Sched>('test-other').list()).toEqual([]);
        expect(await store.remove('b')).toBe(true);
        expect(await store.remove('b')).toBe(false);
        expect((await store.list()).map((r) => r.name)).toEqual(['a']);
        // a second backend on the same store (another replica) sees the same records
        const again = backend.records<Sched>('test-kinds');
        expect(await again.get('a')).toMatchObject({ note: 'ünïcode' });
      });

      it('replace is compare-and-set: only over the record as read; a changed or removed one stays', async () => {
        const { backend } = make();
        const store = backend.records<Sched>('test-cas');
        await store.put({ name: 'r', cron: '* * * * *', note: 'ünïcode' });
        const read = (await store.get('r')) as Sched;
        expect(await store.replace(read, { ...read, cron: '0 * * * *' })).toBe(true);
        // a second writer that read the same version loses, and nothing of its write lands
        expect(await store.replace(read, { ...read, cron: '*/5 * * * *' })).toBe(false);
        expect(await store.get('r')).toEqual({ name: 'r', cron: '0 * * * *', note: 'ünïcode' });
        // of many at once over one version exactly one wins
        const now = (await store.get('r')) as Sched;
        const won = await Promise.all(Array.from({ length: 8 }, (_, i) => store.replace(now, { ...now, cron: `${i} 2 * * *` })));
        expect(won.filter(Boolean)).toHaveLength(1);
        expect((await store.get('r'))?.cron).toBe(`${won.indexOf(true)} 2 * * *`);
        // removed meanwhile: not brought back
        const last = (await store.get('r')) as Sched;
        expect(await store.remove('r')).toBe(true);
        expect(await store.replace(last, { ...last, cron: '1 1 * * *' })).toBe(false);
        expect(await store.get('r')).toBeNull();
      });
    });

    describe('throughput', () => {
      it('adds per bucket and sums a window', async () => {
        const store = make().backend.throughput;
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
      });

      it('keeps one-minute buckets of finished and failed runs and run time for the charts, zeros between', async () => {
        const store = make().backend.throughput;
        const start = Date.parse('2026-03-01T12:00:05Z');
        let now = start;
        const rec = new ThroughputRecorder(store, 60_000, () => now);
        rec.record('default', { runMs: 10 });
        rec.record('default', { failed: true, runMs: 30.4 });
        rec.record('email', { runMs: 5 });
        await rec.flush();
        now += 30_000; // same minute, a later 10-second bucket
        rec.record('default', { failed: true, runMs: 20 });
        await rec.flush();
        now = start + 2 * 60_000; // two minutes on; the one between stays empty
        rec.record('default', { runMs: 1 });
        await rec.close();
        const m0 = minuteOf(start);
        const got = await readMinutes(store, ['default', 'email', 'reports'], 4, now);
        expect(got.default).toEqual([
          { minute: m0 - 1, finished: 0, failed: 0, runMs: 0 },
          { minute: m0, finished: 3, failed: 2, runMs: 60 },
          { minute: m0 + 1, finished: 0, failed: 0, runMs: 0 },
          { minute: m0 + 2, finished: 1, failed: 0, runMs: 1 },
        ]);
        expect(got.email?.map((m) => m.finished)).toEqual([0, 1, 0, 0]);
        expect(got.reports?.map((m) => m.finished)).toEqual([0, 0, 0, 0]);
        // the 10-second buckets count the same runs (the scaling signal)
        expect(await readFinished(store, ['default'], 3600, now)).toEqual({ default: 4 });
        // a bare count (no sums) reaches only the buckets
        await store.add(bucketOf(now), [['email', 7]]);
        expect((await store.minutes(['email'], m0 + 2, m0 + 2)).email).toEqual([{ minute: m0 + 2, finished: 0, failed: 0, runMs: 0 }]);
        expect(await store.minutes([], m0, m0 + 2)).toEqual({});
      });
    });

    describe('rate limiter', () => {
      it('allows the points per window, then says when to retry; reset forgets a key', async () => {
        const { backend } = make();
        const limiter = backend.limiter({ name: 'test:rl', points: 2, durationSeconds: 2 });
        expect(await limiter.consume('a')).toEqual({ allowed: true });
        expect(await limiter.consume('a')).toEqual({ allowed: true });
        const denied = await limiter.consume('a');
        expect(denied.allowed).toBe(false);
        if (!denied.allowed) expect(denied.retryAfterMs).toBeGreaterThan(0);
        if (!denied.allowed) expect(denied.retryAfterMs).toBeLessThanOrEqual(2_000);
        expect(await limiter.consume('b')).toEqual({ allowed: true }); // keys count apart
        await limiter.reset('a');
        expect(await limiter.consume('a')).toEqual({ allowed: true });
        await waitFor(async () => (await limiter.consume('b')).allowed && (await limiter.consume('b')).allowed, {
          timeoutMs: 6_000,
          intervalMs: 250,
          what: 'a fresh window for b',
        });
      });

      it('shares counts between limiters of one name as the capabilities say; a shared limiter always', async () => {
        const { backend } = make();
        for (const shared of [false, true]) {
          const opts = { name: `test:share-${shared}`, points: 1, durationSeconds: 60, shared };
          const one = backend.limiter(opts);
          const other = backend.limiter(opts); // another process, in effect
          expect((await one.consume('k')).allowed).toBe(true);
          const expectShared = shared || backend.capabilities.sharedRateLimits;
          expect((await other.consume('k')).allowed).toBe(!expectShared);
        }
      });
    });

    describe('Bull Board source', () => {
      it('has an adapter for every queue and its dead-letter queue, read-only for viewers', async () => {
        const { backend } = make();
        const source = backend.boardSource();
        onTestFinished(() => source.close());
        const full = source.adapters(false);
        expect(full.map((a) => a.getName()).sort()).toEqual(queueNames.flatMap((q) => [q, `${q}-dlq`]).sort());
        expect(full.every((a) => !a.readOnlyMode)).toBe(true);
        expect(source.adapters(true).every((a) => a.readOnlyMode && !a.allowRetries)).toBe(true);
        await backend.engine.enqueue(request('diagnostics.noop', {}));
        const board = full.find((a) => a.getName() === 'default');
        const counts = (await board?.getJobCounts()) ?? {};
        expect(Object.values(counts).reduce((n, c) => n + Number(c ?? 0), 0)).toBe(1); // waiting or prioritized
      });
    });

    describe('job reads', () => {
      it('finds a job by idempotency key, by kind, and the recent finished counts', async () => {
        const { backend } = make();
        const job = await completedJob(backend, { idempotencyKey: 'order-7' });
        const reads = backend.jobReads;
        expect((await reads.byIdempotencyKey('diagnostics.noop', 'order-7'))?.id).toBe(job.id);
        expect(await reads.byIdempotencyKey('diagnostics.noop', 'order-8')).toBeNull();
        expect(await reads.byIdempotencyKey('diagnostics.sleep', 'order-7')).toBeNull(); // keys are per kind
        const byKind = await reads.byKind('diagnostics.noop', 'default', 10);
        expect(byKind.map((j) => j.id)).toEqual([job.id]);
        expect(await reads.byKind('diagnostics.sleep', 'default', 10)).toEqual([]);
        const recent = await reads.finishedSince('default', 60_000);
        expect(recent).toEqual({ completed: 1, failed: 0 }); // both engines can tell
      });
    });

    describe('retention', () => {
      it('trims finished jobs past their age where the engine does not expire them itself', async () => {
        const { backend } = make();
        const sweeper = backend.retention;
        if (!sweeper) {
          console.warn(`[${factory.name}] no retention sweeper: the engine expires finished jobs itself`);
          expect(factory.name).toBe('pgboss');
          return;
        }
        const job = await completedJob(backend);
        const limits = { completedMaxAgeMs: 3_600_000, failedMaxAgeMs: 3_600_000, deadLetterMaxAgeMs: 3_600_000, limit: 100 };
        expect(await sweeper.sweep('default', limits)).toEqual({ completed: 0, failed: 0, deadLetters: 0 }); // too young
        expect(await sweeper.sweep('default', { ...limits, completedMaxAgeMs: 0 })).toEqual({ completed: 1, failed: 0, deadLetters: 0 });
        expect(await backend.engine.getJob(job.id)).toBeNull();
      });
    });

    describe('release step', () => {
      it('is idempotent and leaves the engine working', async () => {
        const { backend } = make();
        if (backend.release) {
          await backend.release.run();
          await backend.release.run();
        }
        const { job } = await backend.engine.enqueue(request('diagnostics.noop', {}));
        expect((await backend.engine.getJob(job.id))?.state).toBe('waiting');
        expect(backend.release === null).toBe(factory.name === 'bullmq'); // only pg-boss migrates
      });
    });
  });
}

describe('where the stores keep their data (unchanged for existing deployments)', () => {
  it('bullmq: keys under <prefix>:_conveyor', async () => {
    const prefix = uniquePrefix('lay');
    const backend = backendFactories[0]?.create(prefix) as Backend;
    const redis = createRedis(REDIS_URL, 'probe');
    onTestFinished(async () => {
      redis.disconnect();
      await backend.close();
      await dropPrefix(prefix);
    });
    await backend.schedules<Sched>().put({ name: 'nightly', cron: '0 3 * * *' });
    await backend.schedules<Sched>().recordFired('nightly', 1_000, 'job-1');
    await backend.ledger<Sent>('email:sent', { ttlSeconds: 3600 }).commit('job-1', { messageId: '<m@x>', at: 'a' });
    await backend.recentList<Doc>('email:caught').push({ id: 'm1', subject: 's' }, 10);
    await backend.throughput.add(7, [['default', 1, { failed: 1, runMs: 12 }]]);
    await backend.limiter({ name: 'rl:5', points: 5, durationSeconds: 1 }).consume('key-a');
    const p = `${prefix}:_conveyor`;
    expect(await redis.hget(`${p}:schedules`, 'nightly')).toContain('0 3 * * *');
    expect(await redis.zscore(`${p}:schedules:last-slot`, 'nightly')).toBe('1000');
    expect(await redis.hget(`${p}:schedules:last-job`, 'nightly')).toBe('job-1');
    expect(JSON.parse((await redis.get(`${p}:email:sent:job-1`)) as string)).toEqual({ state: 'sent', messageId: '<m@x>', at: 'a' });
    expect(await redis.ttl(`${p}:email:sent:job-1`)).toBeGreaterThan(3500);
    expect(await redis.lrange(`${p}:email:caught`, 0, -1)).toEqual(['m1']);
    expect(await redis.hexists(`${p}:email:caught:data`, 'm1')).toBe(1);
    expect(await redis.get(`${p}:finished:default:7`)).toBe('1');
    expect(await redis.ttl(`${p}:finished:default:7`)).toBeGreaterThan(3600);
    expect(await redis.hgetall(`${p}:minute:default:1`)).toEqual({ n: '1', failed: '1', runMs: '12' }); // bucket 7 = minute 1
    expect(await redis.ttl(`${p}:minute:default:1`)).toBeGreaterThan(3600);
    expect(await redis.exists(`${p}:rl:5:key-a`)).toBe(1);
  });

  it('pgboss: tables in the engine schema', async (ctx) => {
    const why = await postgresUnavailable();
    if (why) {
      console.warn(`skipping the Postgres layout test: ${why}`);
      ctx.skip();
    }
    const prefix = uniquePrefix('lay');
    const schema = pgbossSchemaFor(prefix);
    const backend = backendFactories[1]?.create(prefix) as Backend;
    const client = new pg.Client({ connectionString: DATABASE_URL });
    await client.connect();
    onTestFinished(async () => {
      await client.end();
      await backend.close();
      await dropSchema(schema);
    });
    await backend.schedules<Sched>().put({ name: 'nightly', cron: '0 3 * * *' });
    await backend.schedules<Sched>().recordFired('nightly', 1_000, 'job-1');
    await backend.ledger<Sent>('email:sent', { ttlSeconds: 3600 }).commit('job-1', { messageId: '<m@x>', at: 'a' });
    await backend.recentList<Doc>('email:caught').push({ id: 'm1', subject: 's' }, 10);
    await backend.throughput.add(7, [['default', 1, { failed: 1, runMs: 12 }]]);
    expect((await backend.limiter({ name: 'email', points: 5, durationSeconds: 1, shared: true }).consume('send')).allowed).toBe(true);
    const one = async (sql: string) => (await client.query(sql)).rows[0];
    expect(await one(`SELECT definition->>'cron' AS cron FROM ${schema}.conveyor_schedule WHERE name = 'nightly'`)).toEqual({
      cron: '0 3 * * *',
    });
    expect(await one(`SELECT last_slot_ms::int AS s, last_job_id AS j FROM ${schema}.conveyor_schedule_state`)).toEqual({
      s: 1000,
      j: 'job-1',
    });
    expect(await one(`SELECT state, record->>'messageId' AS m FROM ${schema}.conveyor_email_sent WHERE key = 'job-1'`)).toEqual({
      state: 'sent',
      m: '<m@x>',
    });
    expect(await one(`SELECT id, mail->>'subject' AS s FROM ${schema}.conveyor_email_caught`)).toEqual({ id: 'm1', s: 's' });
    expect(await one(`SELECT n::int AS n FROM ${schema}.conveyor_throughput WHERE queue = 'default' AND bucket = 7`)).toEqual({ n: 1 });
    expect(
      await one(`SELECT minute::int AS m, n::int AS n, failed::int AS f, run_ms::int AS r FROM ${schema}.conveyor_queue_minute`),
    ).toEqual({
      m: 1,
      n: 1,
      f: 1,
      r: 12,
    });
    expect(await one(`SELECT count(*)::int AS n FROM ${schema}.conveyor_email_rate`)).toEqual({ n: 1 });
  });
});
