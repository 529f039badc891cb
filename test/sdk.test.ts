// The typed SDK against a real server; the @ts-expect-error lines are checked by `npm run typecheck`
// (part of `npm test`): if a wrong payload ever compiles, the typecheck fails.
import { describe, expect, it } from 'vitest';
import { flowSettler } from '../core/flows/run.ts';
import { ConveyorApiError, ConveyorClient } from '../producers/sdk.ts';
import { validatePayload } from '../workers/catalog.ts';
import { describeEngines } from './engines.ts';
import { setup, waitFor } from './helpers.ts';

describeEngines('SDK', (engine) => {
  it('enqueues, reads, waits and reports API errors with their field paths', async () => {
    const t = await setup({ engine });
    t.startWorker();
    const client = new ConveyorClient({ baseUrl: t.baseUrl, apiKey: t.keys.admin, requestId: () => 'sdk-req-1' });
    const job = await client.enqueue('diagnostics.sleep', { ms: 10, tag: 'sdk' }, { priority: 2 });
    expect(job).toMatchObject({ name: 'diagnostics.sleep', created: true });
    const done = await client.waitForJob(job.id, { timeoutMs: 15_000 });
    expect(done).toMatchObject({ state: 'completed', priority: 2, result: { tag: 'sdk' } });

    const again = await client.enqueue('diagnostics.noop', {}, { idempotencyKey: 'k1' });
    const dup = await client.enqueue('diagnostics.noop', {}, { idempotencyKey: 'k1' });
    expect([again.created, dup.created, dup.id === again.id]).toEqual([true, false, true]);

    const many = await client.enqueueMany([
      { name: 'diagnostics.noop', data: {} },
      { name: 'diagnostics.sleep', data: { ms: 1 } },
    ]);
    expect(many).toHaveLength(2);

    const err = await client.enqueue('diagnostics.sleep', { ms: -5 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConveyorApiError);
    expect(err).toMatchObject({ status: 400, code: 'invalid_request', details: [{ path: 'data.ms' }] });

    const bad = new ConveyorClient({ baseUrl: t.baseUrl, apiKey: 'nope' });
    await expect(bad.queues()).rejects.toMatchObject({ status: 401 });
    expect((await client.queues())[0]?.name).toBe('default');
  });

  it('createFlow: a child whose data is filled from its parent (dataFrom) runs with it', async () => {
    const t = await setup({ engine });
    t.startWorker({ settlers: [flowSettler({ store: t.backend.flows, engine: t.engine, validate: validatePayload })] });
    const client = new ConveyorClient({ baseUrl: t.baseUrl, apiKey: t.keys.admin });
    const flow = await client.createFlow([
      { key: 'first', name: 'diagnostics.sleep', data: { ms: 5, tag: 'first' } },
      // `ms` is required by the kind and missing here: dataFrom fills it from the parent's result
      { key: 'second', name: 'diagnostics.sleep', data: { tag: 'second' }, dependsOn: ['first'], dataFrom: { ms: 'first.sleptMs' } },
    ]);
    const second = flow.jobs.find((j) => j.key === 'second')?.id as string;
    const done = await waitFor(async () => (await t.engine.getJob(second)) ?? false, { what: 'second released', timeoutMs: 15_000 });
    expect(done.data).toMatchObject({ ms: 5, tag: 'second' });
  });
});

describe('SDK types', () => {
  it('rejects wrong payloads at compile time', () => {
    const client = new ConveyorClient({ baseUrl: 'http://127.0.0.1:1', apiKey: 'x' });
    const typeOnly = () => {
      // @ts-expect-error ms must be a number
      void client.enqueue('diagnostics.sleep', { ms: 'soon' });
      // @ts-expect-error unknown job kind
      void client.enqueue('diagnostics.nothing', {});
      // @ts-expect-error ms is required
      void client.enqueue('diagnostics.sleep', {});
      // @ts-expect-error priority is an option, not payload
      void client.enqueue('diagnostics.noop', { note: 'x' }, { prio: 1 });
      // @ts-expect-error without dataFrom a flow job's data is checked whole: ms is required
      void client.createFlow([{ key: 'a', name: 'diagnostics.sleep', data: {} }]);
      // @ts-expect-error with dataFrom the given fields are still typed
      void client.createFlow([{ key: 'a', name: 'diagnostics.sleep', data: { ms: 'soon' }, dataFrom: {} }]);
    };
    expect(typeof typeOnly).toBe('function');
  });
});
