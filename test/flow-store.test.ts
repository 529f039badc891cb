// The flow store's finish on each engine (core/flows/types.ts FlowStore): many parents of one child ending
// at once, as a fan-in does. On pg-boss the ends one process has for a flow go in one statement
// (core/engines/pgboss/stores/flows/finish-batch.ts); on BullMQ each is one script. Either way each end must
// read as if written alone in turn: the counts exact, the child ready for exactly one of them (the one that
// brought it to 0), a repeated end recorded nothing.
import { expect, it, onTestFinished } from 'vitest';
import { planFlow } from '../core/flows/plan.ts';
import { toEnqueueRequest, type ValidJob, validateJob } from '../workers/catalog.ts';
import { describeEngines, engineFactories } from './engines.ts';
import { testConfig } from './helpers.ts';

const PARENTS = 60;

describeEngines('flow store: concurrent ends of one flow', (engine) => {
  it(`${PARENTS} parents of one child end at once: exact counts, the child ready for exactly one`, async () => {
    const factory = engineFactories.find((f) => f.name === engine);
    if (!factory) throw new Error(`no factory for ${engine}`);
    const { backend, cleanup } = await factory.create();
    onTestFinished(cleanup);
    const parents = Array.from({ length: PARENTS }, (_, i) => ({ key: `p${i}`, name: 'diagnostics.noop' }));
    const plan = planFlow([...parents, { key: 'sink', name: 'diagnostics.noop', dependsOn: parents.map((p) => p.key) }], {
      validate: validateJob,
      mayEnqueue: () => true,
      request: (job, jobId, flow) => toEnqueueRequest(job as ValidJob, testConfig(), { flow }, Date.now(), jobId),
    });
    if (!plan.ok) throw new Error(JSON.stringify(plan.details));
    const id = plan.flow.id;
    await backend.flows.create(plan.flow);

    // two of them fail: the child counts two failed parents
    const results = await Promise.all(
      parents.map((p, i) =>
        backend.flows.finish(id, p.key, i < 2 ? { state: 'dead', error: { message: 'x' } } : { state: 'completed', result: { i } }),
      ),
    );
    expect(results.every((r) => r?.first === true)).toBe(true);
    // as if one by one: each end saw the count after its own
    expect(results.map((r) => r?.finished).sort((a, b) => (a ?? 0) - (b ?? 0))).toEqual(Array.from({ length: PARENTS }, (_, i) => i + 1));
    expect(results.every((r) => r?.total === PARENTS + 1)).toBe(true);
    // the end that brought the child to 0 (others may list it with parents still to come)
    const withChild = results.filter((r) => r?.children.some((c) => c.key === 'sink' && c.remaining <= 0));
    expect(withChild).toHaveLength(1);
    expect(withChild[0]?.children).toEqual([{ key: 'sink', remaining: 0, failedParents: 2, final: null }]);
    expect(withChild[0]?.finished).toBe(PARENTS);
    expect(Math.max(...results.map((r) => r?.failed ?? 0))).toBe(2);

    // an end recorded again (a re-run after a crash) counts nothing and shows the child as it is
    const again = await backend.flows.finish(id, 'p5', { state: 'completed', result: {} });
    expect(again).toMatchObject({ first: false, finished: PARENTS, failed: 2 });
    expect(again?.children).toEqual([{ key: 'sink', remaining: 0, failedParents: 2, final: null }]);
    const outs = await backend.flows.outcomes(id, ['p0', 'p5']);
    expect(outs).toEqual({ p0: { state: 'dead', error: { message: 'x' } }, p5: { state: 'completed', result: { i: 5 } } });
  });
});
