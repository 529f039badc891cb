// Property-based fuzz of every route (issue 12, deliverable 5), on both engines. The routes come from the
// OpenAPI document, which the route table generates, so a new route is fuzzed without touching this file.
// Each gets FUZZ_RUNS requests from test/fuzz-requests.ts: odd path ids, queries, bodies, content types and
// encodings. Every answer must be below 500; a 4xx must be in the error shape and leave the queues as they
// were (nothing enqueued). The heap after a GC stays within a generous bound of where it started.
// Reproduce a failure with the seed printed beside it: FUZZ_SEED=<seed> npx vitest run test/fuzz.test.ts.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import fc from 'fast-check';
import { expect, it } from 'vitest';
import { createDashboard } from '../dashboard/index.ts';
import { queueNames } from '../workers/catalog.ts';
import { DashboardClient, dashboardOverrides, PASSWORDS } from './dashboard-users.ts';
import { describeEngines } from './engines.ts';
import { dashboardRequestsFor, type FuzzRequest, type Operation, requestsFor } from './fuzz-requests.ts';
import { quietLogger, setup, type TestPlatform, waitFor } from './helpers.ts';

const RUNS = Number(process.env.FUZZ_RUNS ?? 50);
const SEED = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
/** heap growth after a full GC that counts as a leak: far above noise, far below a leak over ~1,500 requests */
const HEAP_BOUND = 64 * 1024 * 1024;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function heapAfterGc() {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

/** every job in every queue, in any state */
async function jobTotal(t: TestPlatform) {
  const qs = await t.engine.queueInfo([...queueNames]);
  return qs.reduce((n, q) => n + Object.values(q.counts).reduce((a: number, b) => a + (Number(b) || 0), 0), 0);
}

async function send(t: TestPlatform, r: FuzzRequest) {
  const res = await fetch(t.baseUrl + r.url, {
    method: r.method,
    headers: r.headers,
    body: r.body,
    redirect: 'manual',
    signal: AbortSignal.timeout(10_000),
  });
  if ((res.headers.get('content-type') ?? '').startsWith('text/event-stream')) {
    await res.body?.cancel();
    return { status: res.status, body: undefined, text: '' };
  }
  const text = await res.text();
  let body: any;
  try {
    body = JSON.parse(text);
  } catch {}
  return { status: res.status, body, text };
}

/** A started bulk action works in the background: let it finish, so it does not move counts under a later run. */
async function settle(t: TestPlatform, res: { status: number; body: any }) {
  const self = res.body?.links?.self;
  if (res.status !== 202 || typeof self !== 'string' || !self.startsWith('/v1/jobs/actions/')) return;
  await waitFor(async () => (await t.api('GET', self)).body?.status !== 'running', { what: `bulk action ${self} done` });
}

/** The dashboard router's routes, [METHOD, path under /admin] (a new page is fuzzed without editing this file). */
async function dashboardRoutes(t: TestPlatform): Promise<[string, string][]> {
  const d = await createDashboard({ config: t.config, logger: quietLogger, backend: t.backend });
  try {
    const layers = (d.router as unknown as { stack: { route?: { path: string; methods: Record<string, boolean> } }[] }).stack;
    return layers.flatMap((l) =>
      Object.keys(l.route?.methods ?? {}).map((m): [string, string] => [m.toUpperCase(), l.route?.path as string]),
    );
  } finally {
    await d.close();
  }
}

/** The documented operations, with their parameters, as fuzz targets. */
async function operations(t: TestPlatform) {
  const doc = (await t.api('GET', '/v1/openapi.json')).body as {
    paths: Record<string, Record<string, Omit<Operation, 'method' | 'path'>>>;
    components: { schemas: Record<string, object> };
  };
  const ops: Operation[] = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) ops.push({ ...op, method: method.toUpperCase(), path });
  }
  const resolve = (ref: string) => (doc.components.schemas[ref.replace('#/components/schemas/', '')] ?? {}) as Record<string, any>;
  return { ops, resolve };
}

/** one property per route: below 500; a 4xx in the error shape that enqueued nothing */
async function fuzzRoute(t: TestPlatform, op: Operation, resolve: (ref: string) => Record<string, any>) {
  const arb = requestsFor(op, { resolve, keys: { admin: t.keys.admin, scoped: t.keys.noopOnly } });
  await fc.assert(
    fc.asyncProperty(arb, async (r) => {
      const before = await jobTotal(t);
      const res = await send(t, r);
      const seen = `${res.status} ${res.text.slice(0, 300)}\n  for ${r.what}`;
      expect(res.status, seen).toBeLessThan(500);
      await settle(t, res);
      if (res.status < 400 || op.path === '/healthz' || op.path === '/readyz') return;
      expect(res.body?.error, seen).toMatchObject({
        code: expect.any(String),
        message: expect.any(String),
        details: expect.any(Array),
        requestId: expect.any(String),
      });
      expect(await jobTotal(t), `enqueued by a rejected request: ${seen}`).toBeLessThanOrEqual(before);
    }),
    { numRuns: RUNS, seed: SEED, endOnFailure: process.env.FUZZ_SHRINK !== '1' },
  );
}

describeEngines('fuzz', { timeout: 240_000 }, (engine) => {
  it(`every documented route answers bad input with a 4xx in the error shape, never 5xx, never enqueued; heap flat (seed ${SEED}, ${RUNS} runs a route)`, async () => {
    const t = await setup({ engine, API_RATE_LIMIT_RPS: '100000', API_AUTH_FAILURES_PER_MINUTE: '100000' });
    const { ops, resolve } = await operations(t);
    expect(ops.length).toBeGreaterThan(30);
    // one round first, so that what is loaded once (modules, compiled schemas, pools) is not counted as growth
    await fuzzRoute(t, ops.find((o) => o.path === '/v1/jobs' && o.method === 'POST') as Operation, resolve);
    const heapBefore = heapAfterGc();
    const failures: string[] = [];
    const only = process.env.FUZZ_ROUTE ? new RegExp(process.env.FUZZ_ROUTE) : null;
    for (const op of ops.filter((o) => !only || only.test(`${o.method} ${o.path}`))) {
      try {
        await fuzzRoute(t, op, resolve);
      } catch (err) {
        const cause = (err as Error & { cause?: Error }).cause;
        const lines = (err as Error).message.split('\n').filter((l) => !l.startsWith('Hint:') && l.trim());
        failures.push(`${op.method} ${op.path}: ${cause?.message ?? ''}\n${lines.slice(0, 4).join('\n')}`);
      }
    }
    const growth = heapAfterGc() - heapBefore;
    console.log(
      `[${engine}] fuzz: ${ops.length} routes × ${RUNS} runs, seed ${SEED}, ${failures.length} failing, heap ${(growth / 1048576).toFixed(1)} MB after GC`,
    );
    expect(failures, `FUZZ_SEED=${SEED}\n${failures.join('\n\n')}`).toEqual([]);
    expect(growth, `heap grew ${(growth / 1048576).toFixed(1)} MB over the fuzz`).toBeLessThan(HEAP_BOUND);
  });

  it(`every dashboard route, signed in as admin, answers odd ids, queries and forms below 500; heap flat (seed ${SEED}, ${RUNS} runs a route)`, async () => {
    const t = await setup({ engine, ...(await dashboardOverrides()), API_AUTH_FAILURES_PER_MINUTE: '100000' });
    const admin = new DashboardClient(t.baseUrl);
    await admin.login('admin', PASSWORDS.admin);
    const session = { cookie: [...admin.cookies].map(([k, v]) => `${k}=${v}`).join('; '), csrf: admin.csrf };
    const routes = await dashboardRoutes(t);
    expect(routes.length).toBeGreaterThan(10);
    const heapBefore = heapAfterGc();
    const failures: string[] = [];
    for (const [method, path] of routes) {
      // signing out would end the session the other routes use
      if (path === '/logout') continue;
      try {
        await fc.assert(
          fc.asyncProperty(dashboardRequestsFor(method, path, session), async (r) => {
            const before = await jobTotal(t);
            const res = await send(t, r);
            expect(res.status, `${res.status} ${res.text.slice(0, 300)}\n  for ${r.what}`).toBeLessThan(500);
            if (res.status >= 400) expect(await jobTotal(t), `enqueued by a rejected request: ${r.what}`).toBeLessThanOrEqual(before);
          }),
          { numRuns: RUNS, seed: SEED, endOnFailure: process.env.FUZZ_SHRINK !== '1' },
        );
      } catch (err) {
        const cause = (err as Error & { cause?: Error }).cause;
        failures.push(`${method} /admin${path}: ${cause?.message ?? (err as Error).message.split('\n')[0]}`);
      }
    }
    const growth = heapAfterGc() - heapBefore;
    console.log(
      `[${engine}] dashboard fuzz: ${routes.length} routes × ${RUNS} runs, seed ${SEED}, ${failures.length} failing, heap ${(growth / 1048576).toFixed(1)} MB`,
    );
    expect(failures, `FUZZ_SEED=${SEED}\n${failures.join('\n\n')}`).toEqual([]);
    expect(growth).toBeLessThan(HEAP_BOUND);
  });
});
