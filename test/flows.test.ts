// Workflows on each engine (docs/flows.md): DAG order from recorded start/finish times, parents' results,
// each onParentFailure policy, fan-out to 1,000 and fan-in, validation (cycles, unknown and duplicate keys,
// payloads, scopes), GET and DELETE, and the reconciler that starts a flow whose creation stopped halfway.
// test/flows-process.test.ts kills a real worker process mid-flow.
import { expect, it, onTestFinished } from 'vitest';
import { PermanentError } from '../core/errors/index.ts';
import { planFlow } from '../core/flows/plan.ts';
import { flowEvents, flowSettler } from '../core/flows/run.ts';
import type { HandlerContext } from '../core/handler.ts';
import { DELIVER_KIND, deliveryJobId, messageIdOf } from '../core/outbound/events.ts';
import type { HandlerMap } from '../workers/catalog.ts';
import { toEnqueueRequest, type ValidJob, validateJob } from '../workers/catalog.ts';
import { startWorkers } from '../workers/runtime.ts';
import { describeEngines } from './engines.ts';
import { type EngineName, quietLogger, setup, type TestPlatform, waitFor } from './helpers.ts';

interface Run {
  tag: string;
  start: number;
  end: number;
  parents: HandlerContext['parents'];
}

/** The platform with an in-process worker that runs the flow settler and records every run of diagnostics.*. */
async function platform(engine: EngineName) {
  const t = await setup({ engine, HTTP_TARGET_ALLOWLIST: '127.0.0.1' });
  const runs: Run[] = [];
  const record = async (tag: string, ms: number, ctx: HandlerContext, fail?: string) => {
    const start = performance.now();
    // ms > 0: long work, i.e. it runs until cancelled (the executor fails the run on the abort)
    if (ms > 0) await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve, { once: true }));
    if (fail === 'permanent') throw new PermanentError(`told to fail (${tag})`);
    runs.push({ tag, start, end: performance.now(), parents: ctx.parents });
    return { tag };
  };
  const handlers: HandlerMap = {
    'diagnostics.sleep': (p, ctx) => record(p.tag ?? '', p.ms, ctx, p.fail),
    'diagnostics.noop': (p, ctx) => record(p.note ?? '', 0, ctx),
  };
  const rt = startWorkers({
    engine: t.engine,
    logger: quietLogger,
    handlers,
    queues: { default: 20 },
    settlers: [flowSettler({ store: t.backend.flows, engine: t.engine, onEvent: flowEvents(t.backend) })],
  });
  onTestFinished(() => rt.close(1_000).then(() => undefined));
  return { t, runs, run: (tag: string) => runs.find((r) => r.tag === tag) };
}

const sleepJob = (key: string, ms: number, more: Record<string, unknown> = {}) => ({
  key,
  name: 'diagnostics.sleep',
  data: { ms, tag: key, ...(more.fail ? { fail: more.fail } : {}) },
  ...(more.dependsOn ? { dependsOn: more.dependsOn } : {}),
  ...(more.onParentFailure ? { onParentFailure: more.onParentFailure } : {}),
});

async function flowEnded(t: TestPlatform, id: string, timeoutMs = 30_000) {
  return waitFor(
    async () => {
      // a 503 under load (the store deadline) is not an end: look again
      const r = await t.api('GET', `/v1/flows/${id}`);
      return r.status === 200 && r.body.state !== 'running' && r.body;
    },
    { timeoutMs, what: `flow ${id} ended` },
  );
}

describeEngines('flows', { timeout: 120_000 }, (engine) => {
  it('runs a DAG in dependency order; each job sees its parents’ results', async () => {
    const { t, runs, run } = await platform(engine);
    const res = await t.api('POST', '/v1/flows', {
      jobs: [
        sleepJob('a', 0),
        sleepJob('b', 0, { dependsOn: ['a'] }),
        sleepJob('c', 0, { dependsOn: ['a'] }),
        sleepJob('d', 0, { dependsOn: ['b', 'c'] }),
      ],
    });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    expect(res.body.jobs.map((j: { key: string }) => j.key)).toEqual(['a', 'b', 'c', 'd']);
    const flow = await flowEnded(t, res.body.id);
    expect(flow.state).toBe('completed');
    expect(flow.jobs.map((j: { state: string }) => j.state)).toEqual(['completed', 'completed', 'completed', 'completed']);
    expect(runs).toHaveLength(4);
    for (const [parent, child] of [
      ['a', 'b'],
      ['a', 'c'],
      ['b', 'd'],
      ['c', 'd'],
    ] as const) {
      expect(run(parent)?.end, `${parent} ended before ${child} started`).toBeLessThanOrEqual(run(child)?.start as number);
    }
    expect(run('a')?.parents).toEqual({});
    expect(run('d')?.parents).toEqual({
      b: { state: 'completed', result: { tag: 'b' } },
      c: { state: 'completed', result: { tag: 'c' } },
    });
    const job = await t.api('GET', `/v1/jobs/${res.body.jobs[3].id}`);
    expect(job.body).toMatchObject({ name: 'diagnostics.sleep', state: 'completed', result: { tag: 'd' } });
  });

  it('onParentFailure: fail cancels the child and its descendants; skip and continue run', async () => {
    const { t, run } = await platform(engine);
    const res = await t.api('POST', '/v1/flows', {
      jobs: [
        sleepJob('a', 0, { fail: 'permanent' }),
        sleepJob('ok', 0),
        sleepJob('failer', 0, { dependsOn: ['a', 'ok'] }),
        sleepJob('below', 0, { dependsOn: ['failer'] }),
        sleepJob('skipper', 0, { dependsOn: ['a', 'ok'], onParentFailure: 'skip' }),
        sleepJob('continuer', 0, { dependsOn: ['a', 'ok'], onParentFailure: 'continue' }),
      ],
    });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    const flow = await flowEnded(t, res.body.id);
    expect(flow.state).toBe('failed');
    const states = Object.fromEntries(flow.jobs.map((j: { key: string; state: string }) => [j.key, j.state]));
    expect(states).toEqual({
      a: 'dead',
      ok: 'completed',
      failer: 'cancelled',
      below: 'cancelled',
      skipper: 'completed',
      continuer: 'completed',
    });
    expect(run('failer')).toBeUndefined();
    expect(run('below')).toBeUndefined();
    expect(run('skipper')?.parents).toEqual({ ok: { state: 'completed', result: { tag: 'ok' } } });
    expect(run('continuer')?.parents).toMatchObject({
      ok: { state: 'completed', result: { tag: 'ok' } },
      a: { state: 'dead', error: { message: expect.stringContaining('told to fail (a)') } },
    });
  });

  it('fans out to 1,000 jobs and back in to one that sees all 1,000 results', async () => {
    const { t, runs, run } = await platform(engine);
    const middle = Array.from({ length: 1000 }, (_, i) => ({
      key: `m${i}`,
      name: 'diagnostics.noop',
      data: { note: `m${i}` },
      dependsOn: ['root'],
    }));
    const res = await t.api('POST', '/v1/flows', {
      jobs: [
        { key: 'root', name: 'diagnostics.noop', data: { note: 'root' } },
        ...middle,
        { key: 'sink', name: 'diagnostics.noop', data: { note: 'sink' }, dependsOn: middle.map((m) => m.key) },
      ],
    });
    expect(res.status, JSON.stringify(res.body).slice(0, 500)).toBe(202);
    const flow = await flowEnded(t, res.body.id, 90_000);
    expect(flow.state).toBe('completed');
    expect(runs).toHaveLength(1002);
    const sink = run('sink') as Run;
    expect(Object.keys(sink.parents ?? {})).toHaveLength(1000);
    const lastMiddle = Math.max(...runs.filter((r) => r.tag.startsWith('m')).map((r) => r.end));
    const firstMiddle = Math.min(...runs.filter((r) => r.tag.startsWith('m')).map((r) => r.start));
    expect(run('root')?.end).toBeLessThanOrEqual(firstMiddle);
    expect(lastMiddle).toBeLessThanOrEqual(sink.start);
  });

  it('refuses invalid flows all or nothing, naming the field (cycles, keys, payloads, options)', async () => {
    const { t } = await platform(engine);
    const cases: [unknown, string, RegExp?][] = [
      [{ jobs: [sleepJob('a', 0, { dependsOn: ['b'] }), sleepJob('b', 0, { dependsOn: ['a'] })] }, 'jobs[0].dependsOn', /cycle/],
      [{ jobs: [sleepJob('a', 0), sleepJob('b', 0, { dependsOn: ['zz'] })] }, 'jobs[1].dependsOn', /unknown key "zz"/],
      [{ jobs: [sleepJob('a', 0, { dependsOn: ['a'] })] }, 'jobs[0].dependsOn', /itself/],
      [{ jobs: [sleepJob('a', 0), sleepJob('a', 0)] }, 'jobs[1].key', /duplicate/],
      [{ jobs: [sleepJob('a', 0), { key: 'b', name: 'diagnostics.sleep', data: { ms: -1 } }] }, 'jobs[1].data.ms'],
      [{ jobs: [{ key: 'a', name: 'no.such.kind' }] }, 'jobs[0].name'],
      [{ jobs: [{ ...sleepJob('a', 0), options: { idempotencyKey: 'k' } }] }, 'jobs[0].options.idempotencyKey'],
      [{ jobs: [{ ...sleepJob('a', 0), onParentFailure: 'explode' }] }, 'jobs[0].onParentFailure'],
      [{ jobs: [{ ...sleepJob('a b', 0) }] }, 'jobs[0].key'],
      [{ jobs: [] }, 'jobs'],
      [{ jobs: Array.from({ length: 2001 }, (_, i) => sleepJob(`j${i}`, 0)) }, 'jobs'],
    ];
    for (const [body, path, message] of cases) {
      const r = await t.api('POST', '/v1/flows', body);
      expect(r.status, `${path}: ${JSON.stringify(r.body).slice(0, 300)}`).toBe(400);
      expect(r.body.error.code).toBe('invalid_request');
      const detail = r.body.error.details.find((d: { path: string }) => d.path === path);
      expect(detail, `${path} in ${JSON.stringify(r.body.error.details).slice(0, 300)}`).toBeDefined();
      if (message) expect(detail.message).toMatch(message);
    }
    // a cycle further down is found too, and named with its path
    const long = await t.api('POST', '/v1/flows', {
      jobs: [
        sleepJob('r', 0),
        sleepJob('x', 0, { dependsOn: ['r', 'z'] }),
        sleepJob('y', 0, { dependsOn: ['x'] }),
        sleepJob('z', 0, { dependsOn: ['y'] }),
      ],
    });
    expect(long.status).toBe(400);
    expect(long.body.error.details[0].message).toMatch(/cycle: (x → y → z → x|y → z → x → y|z → x → y → z)/);
  });

  it('scopes: a key may create flows only of kinds it may enqueue', async () => {
    const { t } = await platform(engine);
    const denied = await t.api(
      'POST',
      '/v1/flows',
      { jobs: [{ key: 'a', name: 'diagnostics.noop' }, sleepJob('b', 0)] },
      { key: t.keys.noopOnly },
    );
    expect(denied.status).toBe(403);
    expect(denied.body.error.details).toEqual([{ path: 'jobs[1].name', message: expect.stringContaining('diagnostics.sleep') }]);
    const allowed = await t.api('POST', '/v1/flows', { jobs: [{ key: 'a', name: 'diagnostics.noop' }] }, { key: t.keys.noopOnly });
    expect(allowed.status).toBe(202);
    expect((await flowEnded(t, allowed.body.id)).state).toBe('completed');
    expect((await t.api('GET', `/v1/flows/${allowed.body.id}`, undefined, { key: t.keys.noopOnly })).status).toBe(200);
    expect((await t.api('GET', '/v1/flows/nope')).status).toBe(404);
    expect((await t.api('POST', '/v1/flows', { jobs: [] }, { key: null })).status).toBe(401);
  });

  it('DELETE cancels what has not ended: the running job is stopped, the rest never run', async () => {
    const { t, run } = await platform(engine);
    const res = await t.api('POST', '/v1/flows', {
      jobs: [sleepJob('slow', 60_000), sleepJob('next', 0, { dependsOn: ['slow'] }), sleepJob('last', 0, { dependsOn: ['next'] })],
    });
    expect(res.status).toBe(202);
    await waitFor(async () => (await t.api('GET', `/v1/flows/${res.body.id}`)).body.jobs[0].state === 'active', { what: 'slow running' });
    const del = await t.api('DELETE', `/v1/flows/${res.body.id}`);
    expect(del.status, JSON.stringify(del.body)).toBe(200);
    expect(del.body.state).toBe('cancelled');
    const flow = await waitFor(
      async () => {
        const f = (await t.api('GET', `/v1/flows/${res.body.id}`)).body;
        return f.jobs.every((j: { state: string }) => j.state === 'cancelled') && f;
      },
      { what: 'every job cancelled' },
    );
    expect(flow.state).toBe('cancelled');
    expect(run('next')).toBeUndefined();
    expect((await t.api('DELETE', `/v1/flows/${res.body.id}`)).status).toBe(409);
    expect((await t.api('DELETE', '/v1/flows/nope')).status).toBe(404);
    const audit = await t.api('GET', '/v1/audit?action=flow.');
    expect(audit.body.entries.map((e: { action: string }) => e.action)).toEqual(expect.arrayContaining(['flow.create', 'flow.cancel']));
  });

  it('a flow stored but never started (creation crashed before its roots were enqueued) is started by GET', async () => {
    const { t } = await platform(engine);
    const plan = planFlow([sleepJob('a', 0), sleepJob('b', 0, { dependsOn: ['a'] })], {
      validate: validateJob,
      mayEnqueue: () => true,
      request: (job, jobId, flow) => toEnqueueRequest(job as ValidJob, t.config, { flow }, Date.now(), jobId),
    });
    if (!plan.ok) throw new Error(JSON.stringify(plan.details));
    await t.backend.flows.create(plan.flow);
    expect(await t.engine.getJob(plan.flow.jobs[0]?.id as string)).toBeNull();
    expect((await t.backend.flows.unstarted(Date.now() + 1, 10)).includes(plan.flow.id)).toBe(true);
    const flow = await flowEnded(t, plan.flow.id);
    expect(flow.state).toBe('completed');
    expect(await t.backend.flows.unstarted(Date.now() + 1, 10)).not.toContain(plan.flow.id);
  });

  it('flow.completed and flow.failed reach webhook subscribers, once per flow', async () => {
    const { t } = await platform(engine);
    const sub = await t.api('POST', '/v1/webhooks', { url: 'http://127.0.0.1:9/flows', events: ['flow.completed', 'flow.failed'] });
    expect(sub.status, JSON.stringify(sub.body)).toBe(201);
    const ok = await t.api('POST', '/v1/flows', { jobs: [sleepJob('a', 0), sleepJob('b', 0, { dependsOn: ['a'] })] });
    const bad = await t.api('POST', '/v1/flows', {
      jobs: [sleepJob('a', 0, { fail: 'permanent' }), sleepJob('b', 0, { dependsOn: ['a'] })],
    });
    expect((await flowEnded(t, ok.body.id)).state).toBe('completed');
    expect((await flowEnded(t, bad.body.id)).state).toBe('failed');
    for (const [flowId, type] of [
      [ok.body.id, 'flow.completed'],
      [bad.body.id, 'flow.failed'],
    ] as const) {
      const delivery = await waitFor(() => t.engine.getJob(deliveryJobId(messageIdOf(flowId, type), sub.body.id)), {
        what: `${type} delivery`,
      });
      expect(delivery).toMatchObject({ name: DELIVER_KIND, data: { type, data: { id: flowId, links: { self: `/v1/flows/${flowId}` } } } });
    }
  });
});
