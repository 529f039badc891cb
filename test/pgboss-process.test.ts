// Real worker processes on the pgboss engine, where a worker also holds jobs fetched ahead of its free
// slots: killed -9, none of them is lost, dead or charged an attempt. (The kill -9 test of one running job
// on every engine: test/worker-process.test.ts.)
import { describe, expect, it, onTestFinished } from 'vitest';
import { pgbossSchemaFor } from '../core/engines/factory.ts';
import { PgbossEngine } from '../core/engines/pgboss/engine.ts';
import { toEnqueueRequest, validateJob } from '../producers/enqueue.ts';
import { queueNames } from '../workers/catalog.ts';
import { quietLogger, testConfig, uniquePrefix, waitFor } from './helpers.ts';
import { DATABASE_URL, dropSchema, postgresUnavailable } from './pgboss-helpers.ts';
import { spawnConveyor } from './processes.ts';

const why = await postgresUnavailable();
if (why) console.warn(`pg-boss process tests skipped: ${why}`);
const consuming = (l: Record<string, unknown>) => l.msg === 'consuming' && l.queue === 'default';
const START_MS = 45_000;

/** An engine on a fresh schema (dropped after the test) and the env of workers on it. */
async function engineAndEnv(label: string) {
  const prefix = uniquePrefix(label);
  const schema = pgbossSchemaFor(prefix);
  onTestFinished(() => dropSchema(schema));
  const engine = new PgbossEngine({ databaseUrl: DATABASE_URL, schema, logger: quietLogger, queues: queueNames, maxConnections: 2 });
  onTestFinished(() => engine.close());
  await engine.migrate();
  const env = {
    QUEUE_ENGINE: 'pgboss',
    DATABASE_URL,
    REDIS_URL: '',
    QUEUE_PREFIX: prefix,
    WORKER_QUEUES: 'default',
    WORKER_LOCK_DURATION_MS: '10000', // heartbeat 10 s (pg-boss's minimum)
    WORKER_STALLED_INTERVAL_MS: '1000',
  };
  return { engine, env };
}

describe.skipIf(!!why)('pg-boss worker processes', { timeout: 180_000 }, () => {
  it('SIGKILL of a worker holding running and prefetched jobs (attempts: 1): all complete on another worker, no attempt spent, none dead', async () => {
    const { engine, env } = await engineAndEnv('pgstall');
    const request = (name: string, data: Record<string, unknown>) => {
      const v = validateJob({ name, data, options: { attempts: 1 } });
      if (!v.ok) throw new Error('bad job');
      return toEnqueueRequest(v.job, testConfig());
    };
    const a = spawnConveyor('worker', env);
    await a.waitForLog(consuming, 'worker A consuming', START_MS);
    // fast runs first, so that A fetches ahead of its free slots
    const warm = await engine.enqueueMany(Array.from({ length: 80 }, () => request('diagnostics.noop', {})));
    await waitFor(async () => (await engine.queueInfo(['default']))[0]?.counts.completed === warm.length, {
      what: 'warm-up done',
      timeoutMs: 60_000,
    });
    const running = 20; // the queue's concurrency
    const sleepers = await engine.enqueueMany(
      Array.from({ length: running }, (_, k) => request('diagnostics.sleep', { ms: 3000, tag: `s${k}` })),
    );
    const ahead = await engine.enqueueMany(Array.from({ length: 100 }, () => request('diagnostics.noop', {})));
    const ids = [...sleepers, ...ahead].map((r) => r.job.id);
    await waitFor(async () => (await engine.queueInfo(['default']))[0]?.counts.active === ids.length, {
      what: 'all held by A (running + prefetched)',
      timeoutMs: 30_000,
    });

    a.child.kill('SIGKILL');
    expect((await a.exited).signal).toBe('SIGKILL');
    const b = spawnConveyor('worker', env);
    await b.waitForLog(consuming, 'worker B consuming', START_MS);
    await waitFor(async () => (await engine.queueInfo(['default']))[0]?.counts.completed === warm.length + ids.length, {
      what: 'every held job completed on B',
      timeoutMs: 120_000,
    }).catch(async (err) => {
      // name what is left: the states, stall counts and outputs of the jobs that did not complete
      const { rows } = await engine.pool.query(
        `SELECT state, retry_count, started_on IS NOT NULL AS started, output FROM ${pgbossSchemaFor(env.QUEUE_PREFIX)}.job
          WHERE name IN ('default', 'default-dlq') AND state <> 'completed' LIMIT 20`,
      );
      throw new Error(
        `${(err as Error).message}; not completed: ${JSON.stringify(rows)}; worker B's last lines: ${JSON.stringify(b.logs.filter((l) => Number(l.level) >= 40).slice(-5))}`,
      );
    });
    const views = await Promise.all(ids.map((id) => engine.getJob(id)));
    expect(views.map((v) => v?.state)).toEqual(ids.map(() => 'completed'));
    // attempts: 1 and nothing died: the crash spent no attempt
    expect(views.map((v) => v?.attempts.made)).toEqual(ids.map(() => 1));
    expect(views.slice(0, running).map((v) => (v?.result as { pid?: number } | undefined)?.pid)).toEqual(
      views.slice(0, running).map(() => b.pid),
    );
    expect(await engine.listDeadLetters(['default'], 1000)).toHaveLength(0);
    b.child.kill('SIGTERM');
    expect((await b.exited).code).toBe(0);
  });
});
