import { expect, it } from 'vitest';
import { describeEngines } from './engines.ts';
import { setup, waitFor } from './helpers.ts';

describeEngines('smoke', (engine) => {
  it('enqueues over HTTP and a worker completes the job', async () => {
    const t = await setup({ engine });
    t.startWorker();
    const res = await t.api('POST', '/v1/jobs', { name: 'diagnostics.noop', data: {} });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    const done = await waitFor(async () => {
      const j = await t.api('GET', res.body.links.self);
      return j.body.state === 'completed' && j.body;
    });
    expect(done.attempts).toEqual({ made: 1, max: 5 });
  });
});
