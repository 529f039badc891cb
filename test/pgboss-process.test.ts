// Real worker processes on the pgboss engine: a worker killed -9 mid-job loses nothing; the job runs
// again on another worker once the dead one's heartbeat lapses, and completes exactly once.
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

describe.skipIf(!!why)('pg-boss worker processes', { timeout: 180_000 }, () => {
  it('a job whose worker is killed -9 mid-run completes exactly once on another worker', async () => {
    const prefix = uniquePrefix('pgkill');
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
    const a = spawnConveyor('worker', env);
    await a.waitForLog(consuming, 'worker A consuming', START_MS);
    const v = validateJob({ name: 'diagnostics.sleep', data: { ms: 8000, tag: 'survivor' } });
    if (!v.ok) throw new Error('bad job');
    const { job } = await engine.enqueue(toEnqueueRequest(v.job, testConfig()));
    await waitFor(async () => (await engine.getJob(job.id))?.state === 'active', { what: 'job active on A', timeoutMs: 30_000 });

    a.child.kill('SIGKILL');
    expect((await a.exited).signal).toBe('SIGKILL');

    const b = spawnConveyor('worker', env);
    await b.waitForLog(consuming, 'worker B consuming', START_MS);
    const done = await waitFor(
      async () => {
        const j = await engine.getJob(job.id);
        return j?.state === 'completed' && j;
      },
      { what: 'job completed after the heartbeat lapsed', timeoutMs: 90_000 },
    );
    expect(done.result).toMatchObject({ tag: 'survivor', pid: b.pid, attempt: 2 });
    expect(a.logs.filter((l) => l.msg === 'job completed')).toHaveLength(0);
    expect(b.logs.filter((l) => l.msg === 'job completed' && l.jobId === job.id)).toHaveLength(1);
    b.child.kill('SIGTERM');
    expect((await b.exited).code).toBe(0);
  });
});
