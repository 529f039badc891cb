// Push instead of polling, on both engines: GET /v1/jobs/:id?wait= answers when the job finishes (woken by
// the engine's job events, not by the wait running out), GET /v1/jobs/:id/events streams its state changes
// and progress and ends after the final state, a client that goes away frees its stream, a bad wait is a
// 400 naming the field; the SDK's waitForJob and its onProgress use them.
import { expect, it } from 'vitest';
import type { HandlerContext } from '../core/handler.ts';
import { readEvents } from '../core/http/sse.ts';
import { processRegistry } from '../core/metrics/job-metrics.ts';
import { ConveyorClient } from '../producers/sdk.ts';
import type { HandlerMap } from '../workers/catalog.ts';
import { handlers as diagnostics } from '../workers/diagnostics/handlers.ts';
import { describeEngines } from './engines.ts';
import { setup, waitFor } from './helpers.ts';

/** A diagnostics.sleep handler that reports progress 10, 50 and returns only when the test opens its gate. */
function gatedHandlers() {
  let open!: () => void;
  const gate = new Promise<void>((r) => {
    open = r;
  });
  let progressed!: () => void;
  const atFifty = new Promise<void>((r) => {
    progressed = r;
  });
  const handlers: HandlerMap = {
    ...diagnostics,
    'diagnostics.sleep': async (_p: unknown, ctx: HandlerContext) => {
      await ctx.progress(10);
      await ctx.progress({ percent: 50 });
      progressed();
      await gate;
      return { done: true };
    },
  } as HandlerMap;
  return { handlers, open, atFifty };
}

async function openWatches(kind: 'wait' | 'events'): Promise<number> {
  const m = await processRegistry.getSingleMetric('conveyor_push_open')?.get();
  return m?.values.find((v) => v.labels.kind === kind)?.value ?? 0;
}

describeEngines('push: long-poll and events', (engine) => {
  it('GET ?wait= answers with the completed job when it finishes, woken by its events', async () => {
    const t = await setup({ engine });
    const g = gatedHandlers();
    t.startWorker({ handlers: g.handlers });
    const enq = await t.api('POST', '/v1/jobs', { name: 'diagnostics.sleep', data: { ms: 0 } });
    await g.atFifty;
    const before = await openWatches('wait');
    const polled = t.api('GET', `/v1/jobs/${enq.body.id}?wait=50`);
    // the long-poll has read the job (not final) and is watching: only an event can end it before 50 s
    await waitFor(async () => (await openWatches('wait')) > before, { what: 'long-poll watching' });
    g.open();
    const res = await polled;
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: enq.body.id, state: 'completed', result: { done: true } });
    expect(await openWatches('wait')).toBe(before);
  });

  it('GET ?wait= on a job that is not final answers after the wait with its state; a finished one at once', async () => {
    const t = await setup({ engine });
    const enq = await t.api('POST', '/v1/jobs', { name: 'diagnostics.noop', data: {} });
    const res = await t.api('GET', `/v1/jobs/${enq.body.id}?wait=0.3`);
    expect(res.body).toMatchObject({ state: 'waiting' });
    t.startWorker();
    const done = await new ConveyorClient({ baseUrl: t.baseUrl, apiKey: t.keys.admin }).waitForJob(enq.body.id, { timeoutMs: 20_000 });
    expect(done.state).toBe('completed');
    expect((await t.api('GET', `/v1/jobs/${enq.body.id}?wait=60`)).body.state).toBe('completed');
  });

  it('a bad wait is a 400 naming the field', async () => {
    const t = await setup({ engine });
    const enq = await t.api('POST', '/v1/jobs', { name: 'diagnostics.noop', data: {} });
    for (const bad of ['61', '-1', 'soon', '1e3', '']) {
      const res = await t.api('GET', `/v1/jobs/${enq.body.id}?wait=${bad}`);
      expect(res.status, `wait=${bad}`).toBe(400);
      expect(res.body.error).toMatchObject({ code: 'invalid_request', details: [{ path: 'wait' }] });
    }
    const extra = await t.api('GET', `/v1/jobs/${enq.body.id}?wiat=5`);
    expect(extra.status).toBe(400);
  });

  it('GET /events streams the state now, progress and the final state, then ends', async () => {
    const t = await setup({ engine });
    const g = gatedHandlers();
    const enq = await t.api('POST', '/v1/jobs', { name: 'diagnostics.sleep', data: { ms: 0 } });
    const res = await fetch(`${t.baseUrl}/v1/jobs/${enq.body.id}/events`, {
      headers: { authorization: `Bearer ${t.keys.admin}`, accept: 'text/event-stream' },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const seen: { event: string; state: string; progress: unknown }[] = [];
    let started = false;
    for await (const e of readEvents(res.body as ReadableStream<Uint8Array>)) {
      const job = JSON.parse(e.data);
      seen.push({ event: e.event, state: job.state, progress: job.progress });
      if (!started) {
        started = true;
        t.startWorker({ handlers: g.handlers }); // the stream is live: everything from here arrives as events
      }
      if (e.event === 'progress' && job.progress?.percent === 50) g.open();
    }
    expect(seen[0]).toMatchObject({ event: 'state', state: 'waiting' });
    expect(seen.at(-1)).toMatchObject({ event: 'state', state: 'completed' });
    expect(seen.some((s) => s.event === 'progress' && (s.progress as { percent?: number })?.percent === 50)).toBe(true);
    expect(seen.some((s) => s.state === 'active')).toBe(true);
  });

  it('a client that goes away frees its stream; the SDK follows progress with onProgress', async () => {
    const t = await setup({ engine });
    const g = gatedHandlers();
    t.startWorker({ handlers: g.handlers });
    const enq = await t.api('POST', '/v1/jobs', { name: 'diagnostics.sleep', data: { ms: 0 } });
    const before = await openWatches('events');
    const ac = new AbortController();
    const res = await fetch(`${t.baseUrl}/v1/jobs/${enq.body.id}/events`, {
      headers: { authorization: `Bearer ${t.keys.admin}` },
      signal: ac.signal,
    });
    const events = readEvents(res.body as ReadableStream<Uint8Array>);
    expect((await events.next()).value?.event).toBe('state');
    expect(await openWatches('events')).toBe(before + 1);
    ac.abort();
    await waitFor(async () => (await openWatches('events')) === before, { what: 'stream closed on the server' });

    const client = new ConveyorClient({ baseUrl: t.baseUrl, apiKey: t.keys.admin });
    const progress: unknown[] = [];
    const done = client.waitForJob(enq.body.id, {
      timeoutMs: 30_000,
      onProgress: (job) => {
        progress.push(job.progress);
        if ((job.progress as { percent?: number } | null)?.percent === 50) g.open();
      },
    });
    await expect(done).resolves.toMatchObject({ state: 'completed', result: { done: true } });
    expect(progress).toContainEqual({ percent: 50 });
  });
});
