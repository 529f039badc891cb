// The typed SDK against a real server; the @ts-expect-error lines are checked by `npm run typecheck`
// (part of `npm test`): if a wrong payload ever compiles, the typecheck fails.
import { describe, expect, it } from 'vitest';
import { ConveyorApiError, ConveyorClient } from '../producers/sdk.ts';
import { describeEngines } from './engines.ts';
import { setup } from './helpers.ts';

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
    };
    expect(typeof typeOnly).toBe('function');
  });
});
