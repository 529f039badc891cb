// A plain pg-boss producer (no Conveyor code: `boss.send(queue, data)`, no envelope) adding to one of our
// queues: on a queue of one kind the job runs as that kind, schema-checked on the worker side with the
// kind's attempts; on a queue of several kinds it is dead-lettered as of unknown kind (there is no job name
// in pg-boss to tell them apart). The BullMQ counterpart is test/bullmq-compat.test.ts.
import { describe, expect, it, onTestFinished } from 'vitest';
import type { PgbossEngine } from '../core/engines/pgboss/engine.ts';
import { catalog } from '../workers/catalog.ts';
import { startWorkers } from '../workers/runtime.ts';
import { quietLogger, waitFor } from './helpers.ts';
import { pgbossFactory } from './pgboss-helpers.ts';

const why = await pgbossFactory.unavailable?.();
if (why) console.warn(`plain pg-boss producer tests skipped: ${why}`);

describe.skipIf(!!why)('plain pg-boss producers', () => {
  it('a plain send() to a one-kind queue runs as that kind; an invalid one and one on a many-kind queue are dead-lettered with the reason', async () => {
    const made = await pgbossFactory.create();
    onTestFinished(() => made.cleanup());
    const engine = made.engine as PgbossEngine;
    await engine.start();
    const seen: { attempt: number; maxAttempts: number; data: unknown }[] = [];
    const rt = startWorkers({
      engine,
      logger: quietLogger,
      handlers: {
        // the kind's own schema still checks the payload before this runs
        'email.send': async (data, ctx) => {
          seen.push({ attempt: ctx.attempt, maxAttempts: ctx.maxAttempts, data });
          return { sent: true };
        },
      },
      queues: { email: 1, default: 1 },
    });
    onTestFinished(async () => {
      await rt.close(2_000);
    });

    const vars = { reportName: 'Orders', url: 'https://acme.test/d/1', expiresAt: '2026-12-01T00:00:00Z' };
    const ok = await engine.boss.send('email', { to: 'plain@example.test', template: 'report-ready', vars });
    const bad = await engine.boss.send('email', { to: 'not an address', template: 'report-ready', vars });
    const ambiguous = await engine.boss.send('default', { ms: 0 });
    if (!ok || !bad || !ambiguous) throw new Error('pg-boss did not create the jobs');

    const done = await waitFor(
      async () => {
        const j = await engine.getJob(ok);
        return j?.state === 'completed' && j;
      },
      { what: 'the plain email job completed' },
    );
    expect(done).toMatchObject({ name: 'email.send', result: { sent: true } });
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ attempt: 1, maxAttempts: catalog['email.send'].defaults.attempts, data: { to: 'plain@example.test' } });

    await waitFor(async () => (await engine.listDeadLetters(['email', 'default'], 10)).length === 2, { what: 'two dead letters' });
    const letters = Object.fromEntries((await engine.listDeadLetters(['email', 'default'], 10)).map((l) => [l.id, l]));
    expect(letters[bad]?.reason).toMatch(/invalid payload: data\.to/);
    expect(letters[ambiguous]?.reason).toMatch(/unknown job kind/);
  });
});
