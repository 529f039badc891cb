// A plain BullMQ producer (no Conveyor code) adding to one of our queues gets its job processed,
// and schema-checked on the worker side.
import { Queue } from 'bullmq';
import { describe, expect, it, onTestFinished } from 'vitest';
import { createRedis } from '../core/engines/bullmq/redis.ts';
import { setup, waitFor } from './helpers.ts';

describe('plain BullMQ producers', () => {
  it('a job added with a plain BullMQ client runs; invalid or unknown ones are dead-lettered with the reason', async () => {
    const t = await setup({ engine: 'bullmq' });
    const connection = createRedis(t.config.REDIS_URL, 'producer');
    const plain = new Queue('default', { connection, prefix: t.config.QUEUE_PREFIX });
    onTestFinished(async () => {
      await plain.close();
      connection.disconnect();
    });
    const ok = await plain.add('diagnostics.sleep', { ms: 0, tag: 'from-bullmq' });
    const bad = await plain.add('diagnostics.sleep', { ms: 'later' });
    const unknown = await plain.add('reports.mystery', {});
    t.startWorker();

    const done = await waitFor(async () => {
      const j = (await t.api('GET', `/v1/jobs/${ok.id}`)).body;
      return j.state === 'completed' && j;
    });
    expect(done.result).toMatchObject({ tag: 'from-bullmq', attempt: 1 });

    await waitFor(async () => (await t.engine.listDeadLetters(['default'], 10)).length === 2, { what: 'two dead letters' });
    const letters = await t.engine.listDeadLetters(['default'], 10);
    const byId = Object.fromEntries(letters.map((l) => [l.id, l]));
    expect(byId[String(bad.id)]?.reason).toMatch(/invalid payload: data\.ms/);
    expect(byId[String(unknown.id)]?.reason).toMatch(/unknown job kind "reports\.mystery"/);
  });
});
