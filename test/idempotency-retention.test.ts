// A job with an idempotency key is the key's record (docs/uniqueness.md): it must outlive the retention
// of the jobs around it for IDEMPOTENCY_TTL_SECONDS, or a repeat of the key makes and runs the job again
// (an email sent twice). Retention by count (RETENTION_COMPLETED_COUNT) trims the queue's oldest finished
// jobs whichever job's completion triggers it, so these tests finish a keyed job, then more unkeyed jobs
// than the count, and repeat the key; and finish a keyed job, age it past its kind's retention (inside the
// TTL) and finish an unkeyed one. Both engines. pg-boss exempts keyed jobs from the count; BullMQ cannot
// (its trim runs inside its finish script), so there the key's record outlives the job and a repeat makes
// nothing but cannot answer the job either (docs/uniqueness.md).
import { Redis } from 'ioredis';
import { describe, expect, it, onTestFinished } from 'vitest';
import type { Engine } from '../core/engine.ts';
import { BullmqEngine } from '../core/engines/bullmq/engine.ts';
import type { PgbossEngine } from '../core/engines/pgboss/engine.ts';
import { IdempotencyKeyUsedError } from '../core/errors/index.ts';
import { requestError } from '../core/http/request-errors.ts';
import { toEnqueueRequest, validateJob } from '../producers/enqueue.ts';
import { queueNames } from '../workers/catalog.ts';
import { handlers } from '../workers/diagnostics/handlers.ts';
import { startWorkers } from '../workers/runtime.ts';
import { dropPrefix, quietLogger, REDIS_URL, testConfig, uniquePrefix, waitFor } from './helpers.ts';
import { makePgbossEngine, postgresUnavailable } from './pgboss-helpers.ts';

const COUNT = 2;
const TTL = 3_600;
const config = testConfig({
  RETENTION_COMPLETED_COUNT: String(COUNT),
  RETENTION_COMPLETED_SECONDS: String(TTL),
  IDEMPOTENCY_TTL_SECONDS: String(TTL),
});

const request = (note: string, idempotencyKey?: string, completedSeconds?: number) => {
  const v = validateJob({ name: 'diagnostics.noop', data: { note }, options: idempotencyKey ? { idempotencyKey } : {} });
  if (!v.ok) throw new Error(`bad test job: ${JSON.stringify(v.details)}`);
  const req = toEnqueueRequest(v.job, config);
  return completedSeconds === undefined ? req : { ...req, retention: { ...req.retention, completedSeconds } };
};

interface Made {
  engine: Engine;
  /** trim by count now (BullMQ trims as jobs finish; pg-boss's consumers every minute) */
  trim(): Promise<void>;
  /** move the keyed job's finish `seconds` into the past */
  age(id: string, seconds: number): Promise<void>;
}

const engines: { name: string; unavailable: () => Promise<string | undefined>; make(): Promise<Made> }[] = [
  {
    name: 'bullmq',
    unavailable: async () => undefined,
    async make() {
      const prefix = uniquePrefix('idret');
      const engine = new BullmqEngine({
        redisUrl: REDIS_URL,
        prefix,
        logger: quietLogger,
        idempotencyTtlSeconds: TTL,
        queues: queueNames,
        worker: { lockDurationMs: 5_000, stalledIntervalMs: 2_000, maxStalledCount: 2 },
      });
      const client = new Redis(REDIS_URL);
      onTestFinished(async () => {
        client.disconnect();
        await engine.close();
        await dropPrefix(prefix);
      });
      return {
        engine,
        trim: async () => {},
        async age(id, seconds) {
          const key = `${prefix}:default:completed`;
          const score = Number(await client.zscore(key, id));
          await client.zadd(key, score - seconds * 1000, id);
          await client.hset(`${prefix}:default:${id}`, 'finishedOn', String(score - seconds * 1000));
        },
      };
    },
  },
  {
    name: 'pgboss',
    unavailable: postgresUnavailable,
    async make() {
      const { engine, schema, cleanup } = makePgbossEngine({ retentionCounts: { completed: COUNT }, idempotencyTtlSeconds: TTL });
      onTestFinished(cleanup);
      await engine.start();
      const pg = engine as PgbossEngine;
      return {
        engine,
        trim: () => pg.trimByCount('default'),
        async age(id, seconds) {
          await pg.pool.query(`UPDATE ${schema}.job SET completed_on = completed_on - $2 * interval '1 second' WHERE id = $1`, [
            id,
            seconds,
          ]);
          await pg.boss.supervise('default');
        },
      };
    },
  },
];

for (const e of engines) {
  const why = await e.unavailable();
  if (why) console.warn(`[${e.name}] idempotency retention: skipped, ${why}`);
  describe.skipIf(!!why)(`[${e.name}] idempotency retention`, () => {
    async function runAll(engine: Engine, ids: string[]) {
      const rt = startWorkers({ engine, logger: quietLogger, handlers, queues: { default: 1 } });
      onTestFinished(() => rt.close(2_000).then(() => undefined));
      for (const id of ids) {
        // completed, or already trimmed by a later job's completion (null)
        await waitFor(
          async () => {
            const j = await engine.getJob(id);
            return j === null || j.state === 'completed';
          },
          { timeoutMs: 15_000, what: `job ${id} completed` },
        );
      }
      await rt.close(2_000);
    }

    it(`a keyed job outlives the count retention: after ${COUNT * 3} unkeyed jobs finish, a repeat of its key finds it and runs nothing`, async () => {
      const { engine, trim } = await e.make();
      const keyed = await engine.enqueue(request('keyed', 'order-1'));
      expect(keyed.created).toBe(true);
      await runAll(engine, [keyed.job.id]);
      const later: string[] = [];
      for (let i = 0; i < COUNT * 3; i++) later.push((await engine.enqueue(request(`later-${i}`))).job.id);
      await runAll(engine, later);
      await trim();
      // the count retention holds for the unkeyed jobs: the oldest of them are gone
      expect(await engine.getJob(later[0] as string)).toBeNull();
      if (e.name === 'pgboss') {
        // pg-boss never trims a keyed job by count: the repeat answers it
        const repeat = await engine.enqueue(request('keyed', 'order-1'));
        expect({ created: repeat.created, id: repeat.job.id, state: repeat.job.state }).toEqual({
          created: false,
          id: keyed.job.id,
          state: 'completed',
        });
      } else {
        // BullMQ trims a queue by count whichever job finishes: the job is gone, its key's record is not, and
        // the repeat makes nothing (409 idempotency_key_used over HTTP)
        expect(await engine.getJob(keyed.job.id)).toBeNull();
        const err = await engine.enqueue(request('keyed', 'order-1')).then(
          () => undefined,
          (x: unknown) => x,
        );
        expect(err).toBeInstanceOf(IdempotencyKeyUsedError);
        expect((err as IdempotencyKeyUsedError).jobId).toBe(keyed.job.id);
        expect(await engine.getJob(keyed.job.id)).toBeNull(); // not made again
        const answer = requestError(err);
        expect({ status: answer?.status, code: answer?.code, path: answer?.details[0]?.path }).toEqual({
          status: 409,
          code: 'idempotency_key_used',
          path: 'options.idempotencyKey',
        });
      }
    }, 60_000);

    it("a keyed job outlives its kind's age retention for IDEMPOTENCY_TTL_SECONDS, whatever job finishes after it", async () => {
      const { engine, age } = await e.make();
      // a kind kept 60 s; the key must still be found 10 minutes later (TTL 1 h)
      const keyed = await engine.enqueue(request('keyed', 'order-2', 60));
      await runAll(engine, [keyed.job.id]);
      await age(keyed.job.id, 600);
      const plain = (await engine.enqueue(request('plain', undefined, 60))).job;
      await runAll(engine, [plain.id]);
      const repeat = await engine.enqueue(request('keyed', 'order-2', 60));
      expect({ created: repeat.created, id: repeat.job.id }).toEqual({ created: false, id: keyed.job.id });
    }, 60_000);
  });
}
