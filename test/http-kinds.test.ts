// HTTP-target kinds (workers/http/, docs/http-kinds.md) on both engines: declared at runtime through
// PUT /v1/kinds, validated at enqueue like catalog kinds, run by POSTing to a real HTTP server started here.
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { expect, it } from 'vitest';
import { createOutbound } from '../core/outbound/index.ts';
import { httpHandlers } from '../workers/http/handler.ts';
import { describeEngines } from './engines.ts';
import { setup, type TestPlatform, waitFor } from './helpers.ts';
import { spawnConveyor } from './processes.ts';

const secret = `whsec_${randomBytes(32).toString('base64')}`;

interface Hit {
  at: number;
  headers: IncomingMessage['headers'];
  body: string;
  /** the request's socket closed before we answered */
  aborted: boolean;
}

type Responder = (hit: Hit, res: ServerResponse, n: number) => void;

async function target(respond: Responder) {
  const hits: Hit[] = [];
  const srv = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      const hit: Hit = { at: Date.now(), headers: req.headers, body, aborted: false };
      hits.push(hit);
      res.on('close', () => {
        if (!res.writableFinished) hit.aborted = true;
      });
      respond(hit, res, hits.length);
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(srv.address() as AddressInfo).port}/run`;
  return {
    url,
    hits,
    close: () => {
      srv.closeAllConnections();
      srv.close();
    },
  };
}

const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) =>
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));

let seq = 0;
const kindName = () => `test.http-${process.pid}-${++seq}-${randomBytes(2).toString('hex')}`;

async function platform(engine: 'bullmq' | 'pgboss') {
  const t = await setup({ engine, HTTP_TARGET_ALLOWLIST: '127.0.0.1', SIGNING_SECRET: secret });
  const out = await createOutbound(t.config);
  const startWorker = () => t.startWorker({ handlers: {}, declared: httpHandlers(out), queues: { http: 10 } });
  return { t, out, startWorker };
}

async function declare(t: TestPlatform, name: string, body: Record<string, unknown>) {
  const res = await t.api('PUT', `/v1/kinds/${name}`, body);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
}

async function enqueue(t: TestPlatform, name: string, data: unknown, options?: unknown) {
  const res = await t.api('POST', '/v1/jobs', { name, data, options });
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  return res.body.id as string;
}

const finalState = (t: TestPlatform, id: string) =>
  waitFor(
    async () => {
      const { body } = await t.api('GET', `/v1/jobs/${id}`);
      return ['completed', 'dead', 'failed', 'cancelled'].includes(body?.state) ? body : undefined;
    },
    { what: `job ${id} finished`, timeoutMs: 20_000 },
  );

const invoiceSchema = {
  type: 'object',
  required: ['invoiceId'],
  properties: {
    invoiceId: { type: 'string' },
    lines: { type: 'array', items: { type: 'object', properties: { qty: { type: 'integer' } } } },
  },
  additionalProperties: false,
};

describeEngines('HTTP-target kinds', { timeout: 60_000 }, (engine) => {
  it('signs the POST (the library verify() accepts it) and stores the JSON answer as the result', async () => {
    const { t, startWorker } = await platform(engine);
    const verified: unknown[] = [];
    const srv = await target((hit, res) => {
      verified.push(new Webhook(secret).verify(hit.body, hit.headers as Record<string, string>));
      json(res, 200, { pdf: 'https://files/x.pdf' });
    });
    const name = kindName();
    await declare(t, name, { url: srv.url, payload: invoiceSchema });
    startWorker();
    const id = await enqueue(t, name, { invoiceId: 'inv-1' });
    const job = await finalState(t, id);
    srv.close();
    expect(job.state).toBe('completed');
    expect(job.result).toEqual({ pdf: 'https://files/x.pdf' });
    expect(verified).toEqual([{ id, name, attempt: 1, data: { invoiceId: 'inv-1' } }]);
    expect(srv.hits[0]?.headers['webhook-id']).toBe(id);
  });

  it('validates the payload at enqueue with the same error shape and field paths as catalog kinds', async () => {
    const { t } = await platform(engine);
    const name = kindName();
    await declare(t, name, { url: 'http://127.0.0.1:9/x', payload: invoiceSchema });
    const res = await t.api('POST', '/v1/jobs', { name, data: { lines: [{ qty: 'many' }], extra: 1 } });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('invalid_request');
    const paths = res.body.error.details.map((d: { path: string }) => d.path);
    expect(paths).toEqual(expect.arrayContaining(['data.invoiceId', 'data.lines[0].qty', 'data']));
    const bulk = await t.api('POST', '/v1/jobs/bulk', {
      jobs: [
        { name: 'diagnostics.noop', data: {} },
        { name, data: {} },
      ],
    });
    expect(bulk.status).toBe(400);
    expect(bulk.body.error.details.map((d: { path: string }) => d.path)).toContain('jobs[1].data.invoiceId');
  });

  it('500 then 200: completed on attempt 2', async () => {
    const { t, startWorker } = await platform(engine);
    const srv = await target((_hit, res, n) => (n === 1 ? json(res, 500, { oops: true }) : json(res, 200, { n })));
    const name = kindName();
    await declare(t, name, { url: srv.url, attempts: 3 });
    startWorker();
    const job = await finalState(t, await enqueue(t, name, {}));
    srv.close();
    expect(job.state).toBe('completed');
    expect(job.result).toEqual({ n: 2 });
    expect(job.attempts.made).toBe(2);
    expect(srv.hits.map((h) => JSON.parse(h.body).attempt)).toEqual([1, 2]);
  });

  it('429 with Retry-After: the retry waits for the hint', async () => {
    const { t, startWorker } = await platform(engine);
    const srv = await target((_hit, res, n) => (n === 1 ? json(res, 429, {}, { 'retry-after': '2' }) : json(res, 200, {})));
    const name = kindName();
    await declare(t, name, { url: srv.url, attempts: 3 });
    startWorker();
    const job = await finalState(t, await enqueue(t, name, {}));
    srv.close();
    expect(job.state).toBe('completed');
    expect(srv.hits).toHaveLength(2);
    // the kind's own backoff for attempt 1 is at most 1 s: a gap of 2 s is the hint's
    expect((srv.hits[1] as Hit).at - (srv.hits[0] as Hit).at).toBeGreaterThanOrEqual(1_900);
  });

  it('400: dead at once, with the status and the start of the body', async () => {
    const { t, startWorker } = await platform(engine);
    const srv = await target((_hit, res) => json(res, 400, { error: 'invoice inv-9 does not exist' }));
    const name = kindName();
    await declare(t, name, { url: srv.url, attempts: 5 });
    startWorker();
    const job = await finalState(t, await enqueue(t, name, {}));
    srv.close();
    expect(job.state).toBe('dead');
    expect(job.error.message).toMatch(/HTTP 400: \{"error":"invoice inv-9 does not exist"\}/);
    expect(srv.hits).toHaveLength(1);
  });

  it('a timeout aborts the request', async () => {
    const { t, startWorker } = await platform(engine);
    const srv = await target(() => {}); // never answers
    const name = kindName();
    await declare(t, name, { url: srv.url, attempts: 1, timeoutMs: 300 });
    startWorker();
    const job = await finalState(t, await enqueue(t, name, {}));
    expect(job.state).toBe('dead');
    expect(job.error.message).toMatch(/timed out after 300 ms/);
    await waitFor(() => srv.hits[0]?.aborted, { what: 'the target saw the request aborted' });
    srv.close();
  });

  it('refuses a target outside the allowlist at declaration', async () => {
    const { t } = await platform(engine);
    for (const url of ['http://example.com/x', 'http://169.254.169.254/latest/meta-data', 'ftp://127.0.0.1/x']) {
      const res = await t.api('PUT', `/v1/kinds/${kindName()}`, { url });
      expect(res.status, url).toBe(400);
      expect(res.body.error.details[0].path).toBe('url');
    }
    const builtIn = await t.api('PUT', '/v1/kinds/diagnostics.noop', { url: 'http://127.0.0.1/x' });
    expect(builtIn.status).toBe(409);
    const badSchema = await t.api('PUT', `/v1/kinds/${kindName()}`, { url: 'http://127.0.0.1/x', payload: { type: 'nope' } });
    expect(badSchema.status).toBe(400);
    expect(badSchema.body.error.details[0].path).toBe('payload');
  });

  it('appears in the OpenAPI document, /v1/kinds, scopes and /v1/queues; DELETE removes it', async () => {
    const { t } = await platform(engine);
    const name = kindName();
    await declare(t, name, { url: 'http://127.0.0.1:9/x', payload: invoiceSchema });
    const doc = (await t.api('GET', '/v1/openapi.json')).body;
    const schemaKey = `Payload_${name.replace(/[^A-Za-z0-9]/g, '_')}`;
    expect(doc.components.schemas[schemaKey]).toMatchObject({ required: ['invoiceId'] });
    expect(doc.components.schemas.JobSummary.properties.name.enum).toContain(name);
    const listed = (await t.api('GET', '/v1/kinds')).body.kinds.find((k: { name: string }) => k.name === name);
    expect(listed).toMatchObject({ source: 'runtime', queue: 'http', url: 'http://127.0.0.1:9/x' });
    // a key for diagnostics.noop only may not enqueue it
    const noop = await t.api('POST', '/v1/jobs', { name, data: { invoiceId: 'x' } }, { key: t.keys.noopOnly });
    expect(noop.status).toBe(403);
    const queues = (await t.api('GET', '/v1/queues')).body.queues.map((q: { name: string }) => q.name);
    expect(queues).toContain('http');
    expect((await t.api('DELETE', `/v1/kinds/${name}`)).status).toBe(204);
    expect((await t.api('GET', `/v1/kinds/${name}`)).status).toBe(404);
    const after = await t.api('POST', '/v1/jobs', { name, data: { invoiceId: 'x' } });
    expect(after.status).toBe(400);
    expect(after.body.error.details[0].path).toBe('name');
  });

  it('a kind declared at runtime reaches a second web process and a worker process', async () => {
    const { t } = await platform(engine);
    const srv = await target((hit, res) => {
      new Webhook(secret).verify(hit.body, hit.headers as Record<string, string>);
      json(res, 200, { by: 'target' });
    });
    const env = {
      ...t.env,
      API_KEYS: JSON.stringify(t.config.API_KEYS),
      HTTP_TARGET_ALLOWLIST: '127.0.0.1',
      SIGNING_SECRET: secret,
      KINDS_RELOAD_MS: '200',
    };
    const web = spawnConveyor('web', { ...env, PORT: '0', HOST: '127.0.0.1' });
    const worker = spawnConveyor('worker', { ...env, WORKER_QUEUES: 'http' });
    const listening = await web.waitForLog((l) => l.msg?.toString().startsWith('web listening') === true, 'second web listening', 40_000);
    await worker.waitForLog((l) => l.msg === 'consuming' && l.queue === 'http', 'worker consuming http', 40_000);
    const base = `http://127.0.0.1:${listening.port}`;
    const name = kindName();
    await declare(t, name, { url: srv.url });
    const admin = { authorization: `Bearer ${t.keys.admin}`, 'content-type': 'application/json' };
    const job = await waitFor(
      async () => {
        const res = await fetch(`${base}/v1/jobs`, { method: 'POST', headers: admin, body: JSON.stringify({ name, data: { n: 1 } }) });
        return res.status === 202 ? ((await res.json()) as { id: string }) : undefined;
      },
      { what: 'the second web accepts the new kind', timeoutMs: 10_000 },
    );
    const done = await finalState(t, job.id);
    srv.close();
    expect(done.state).toBe('completed');
    expect(done.result).toEqual({ by: 'target' });
  });
});
