// A flow job's `dataFrom` on each engine (docs/flows.md, "Passing results on"): fields of a child's data
// filled from its parents' results when it is released, checked at creation (everything else) and again,
// whole, at release; a child whose fields cannot be filled or then do not validate ends dead, not enqueued.
import { expect, it, onTestFinished } from 'vitest';
import { flowSettler } from '../core/flows/run.ts';
import type { HandlerMap } from '../workers/catalog.ts';
import { validatePayload } from '../workers/catalog.ts';
import { startWorkers } from '../workers/runtime.ts';
import { describeEngines } from './engines.ts';
import { type EngineName, quietLogger, setup, type TestPlatform, waitFor } from './helpers.ts';

async function platform(engine: EngineName) {
  const t = await setup({ engine });
  const seen: Record<string, unknown>[] = [];
  const parentsOf = new Map<string, unknown>();
  const handlers: HandlerMap = {
    'diagnostics.noop': async (p, ctx) => {
      seen.push(p);
      parentsOf.set(p.note ?? '', ctx.parents);
      return { note: p.note, nested: { list: [1, 2], label: `from ${p.note ?? 'nobody'}` } };
    },
    'diagnostics.sleep': async (p) => {
      seen.push(p);
      return { slept: p.ms };
    },
  };
  const settler = flowSettler({ store: t.backend.flows, engine: t.engine, validate: validatePayload });
  const rt = startWorkers({ engine: t.engine, logger: quietLogger, handlers, queues: { default: 10 }, settlers: [settler] });
  onTestFinished(() => rt.close(1_000).then(() => undefined));
  return { t, seen, parentsOf };
}

async function flowEnded(t: TestPlatform, id: string) {
  return waitFor(
    async () => {
      const r = await t.api('GET', `/v1/flows/${id}`);
      return r.status === 200 && r.body.state !== 'running' && r.body;
    },
    { timeoutMs: 30_000, what: `flow ${id} ended` },
  );
}

describeEngines('flows: dataFrom', { timeout: 60_000 }, (engine) => {
  it('is in the OpenAPI document of POST /v1/flows', async () => {
    const t = await setup({ engine });
    const doc = await t.api('GET', '/v1/openapi.json');
    expect(doc.status).toBe(200);
    const schema = JSON.stringify(doc.body.paths['/v1/flows'].post.requestBody);
    expect(schema).toContain('"dataFrom"');
    expect(schema).toContain('filled at release from parents');
  });

  it('a child’s data takes fields of its parents’ results, nested paths included, and is stored validated', async () => {
    const { t, seen } = await platform(engine);
    const res = await t.api('POST', '/v1/flows', {
      jobs: [
        { key: 'a', name: 'diagnostics.noop', data: { note: 'alpha' } },
        { key: 'b.x', name: 'diagnostics.sleep', data: { ms: 7 } },
        {
          key: 'c',
          name: 'diagnostics.noop',
          dependsOn: ['a', 'b.x'],
          // `b.x.slept`: the longest parent key wins, so a key with a dot still names its result's field
          dataFrom: { note: 'a.nested.label' },
        },
        { key: 'd', name: 'diagnostics.sleep', data: { tag: 'd' }, dependsOn: ['b.x'], dataFrom: { ms: 'b.x.slept' } },
      ],
    });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    const flow = await flowEnded(t, res.body.id);
    expect(flow.state, JSON.stringify(flow)).toBe('completed');
    const [, , c, d] = res.body.jobs.map((j: { id: string }) => j.id);
    expect((await t.engine.getJob(c))?.data).toEqual({ note: 'from alpha' });
    expect((await t.engine.getJob(d))?.data).toMatchObject({ ms: 7, tag: 'd' });
    expect(seen).toContainEqual({ note: 'from alpha' });
  });

  it('at creation: the filled fields may be missing, everything else is checked; sources must name a parent', async () => {
    const { t } = await platform(engine);
    const cases: [unknown[], string, RegExp][] = [
      [
        [
          { key: 'a', name: 'diagnostics.noop' },
          { key: 'b', name: 'diagnostics.noop', dependsOn: [], dataFrom: { note: 'a.note' } },
        ],
        'jobs[1].dataFrom.note',
        /parent in dependsOn \(none\)/,
      ],
      [
        [
          { key: 'a', name: 'diagnostics.noop' },
          { key: 'b', name: 'diagnostics.sleep', data: { ms: 1, tag: 5 }, dependsOn: ['a'], dataFrom: { ms: 'a.note' } },
        ],
        'jobs[1].data.tag',
        /string/,
      ],
      [
        [
          { key: 'a', name: 'diagnostics.noop' },
          { key: 'b', name: 'diagnostics.noop', dependsOn: ['a'], dataFrom: { '__proto__.x': 'a.note' } },
        ],
        'jobs[1].dataFrom.__proto__.x',
        /dot path/,
      ],
    ];
    for (const [jobs, path, message] of cases) {
      const r = await t.api('POST', '/v1/flows', { jobs });
      expect(r.status, `${path}: ${JSON.stringify(r.body).slice(0, 300)}`).toBe(400);
      const detail = r.body.error.details.find((x: { path: string }) => x.path === path);
      expect(detail, `${path} in ${JSON.stringify(r.body.error.details)}`).toBeDefined();
      expect(detail.message).toMatch(message);
    }
    // the required `ms` of diagnostics.sleep is missing, but dataFrom fills it: accepted
    const ok = await t.api('POST', '/v1/flows', {
      jobs: [
        { key: 'a', name: 'diagnostics.sleep', data: { ms: 1 } },
        { key: 'b', name: 'diagnostics.sleep', dependsOn: ['a'], dataFrom: { ms: 'a.slept' } },
      ],
    });
    expect(ok.status, JSON.stringify(ok.body)).toBe(202);
    expect((await flowEnded(t, ok.body.id)).state).toBe('completed');
  });

  it('at release: a field the result lacks, or a filled payload that does not validate, ends the child dead; its children follow their policy', async () => {
    const { t, seen, parentsOf } = await platform(engine);
    const res = await t.api('POST', '/v1/flows', {
      jobs: [
        { key: 'a', name: 'diagnostics.noop', data: { note: 'alpha' } },
        { key: 'missing', name: 'diagnostics.noop', dependsOn: ['a'], dataFrom: { note: 'a.nope' } },
        // a string where diagnostics.sleep wants an integer
        { key: 'invalid', name: 'diagnostics.sleep', dependsOn: ['a'], dataFrom: { ms: 'a.note' } },
        { key: 'after', name: 'diagnostics.noop', data: { note: 'after' }, dependsOn: ['invalid'] },
        { key: 'anyway', name: 'diagnostics.noop', data: { note: 'anyway' }, dependsOn: ['missing'], onParentFailure: 'continue' },
      ],
    });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    const flow = await flowEnded(t, res.body.id);
    expect(flow.state).toBe('failed');
    const state = Object.fromEntries(flow.jobs.map((j: { key: string; state: string }) => [j.key, j.state]));
    expect(state).toEqual({ a: 'completed', missing: 'dead', invalid: 'dead', after: 'cancelled', anyway: 'completed' });
    // never enqueued: no job under their fixed ids, and no run saw them
    const ids = Object.fromEntries(res.body.jobs.map((j: { key: string; id: string }) => [j.key, j.id]));
    expect(await t.engine.getJob(ids.missing)).toBeNull();
    expect(await t.engine.getJob(ids.invalid)).toBeNull();
    expect(seen.map((p) => p.note ?? p.ms)).toEqual(expect.arrayContaining(['alpha', 'anyway']));
    expect(seen).toHaveLength(2);
    // the child that continued sees why its parent ended
    expect(parentsOf.get('anyway')).toEqual({
      missing: { state: 'dead', error: { message: 'dataFrom note: the result of "a" has no nope', name: 'InvalidJobError' } },
    });
  });
});
