// Search indexing through the official client: against the ES stand-in by default, a real cluster when
// ELASTICSEARCH_URL is set (fault-injection tests then skip, saying why). On each engine; real Postgres.
import { Writable } from 'node:stream';
import { Client } from '@elastic/elasticsearch';
import type pg from 'pg';
import { pino } from 'pino';
import { afterAll, beforeAll, expect, it, onTestFinished } from 'vitest';
import type { JobView } from '../core/engine.ts';
import { runReadiness } from '../core/readiness.ts';
import { handlers as defaultHandlers } from '../workers/diagnostics/handlers.ts';
import { readinessChecks } from '../workers/domains.ts';
import { handlerDeps } from '../workers/handlers.ts';
import { resolveQueues } from '../workers/runtime.ts';
import { createSearchHandlers, type SearchHandlerSet } from '../workers/search/handlers.ts';
import { setupIndex } from '../workers/search/index-setup.ts';
import { searchIndexes } from '../workers/search/indexes.ts';
import { searchReleaseTask } from '../workers/search/release.ts';
import { describeEngines } from './engines.ts';
import { type EngineName, quietLogger, setup, type TestPlatform, waitFor } from './helpers.ts';
import { type SearchBackend, searchEnv, sourceSchema, startSearchBackend } from './search-backend.ts';

let backend: SearchBackend;
beforeAll(async () => {
  backend = await startSearchBackend();
});
afterAll(async () => {
  await backend?.close();
});

/** Skip (with the reason printed) a test that needs the stand-in's fault injection. */
function standinOnly(what: string): boolean {
  if (backend.standin) return true;
  console.log(`skipped on a real cluster: "${what}" needs the stand-in's fault injection`);
  return false;
}

interface SearchTest {
  t: TestPlatform;
  set: SearchHandlerSet;
  es: Client;
  alias: string;
}

async function searchSetup(
  engine: EngineName,
  extra: Record<string, string> = {},
  opts: { startWorker?: boolean } = {},
): Promise<SearchTest> {
  const t = await setup({ engine, ...searchEnv(backend, extra) });
  const set = await createSearchHandlers(handlerDeps({ config: t.config, logger: quietLogger, backend: t.backend }));
  const es = new Client({
    node: backend.url,
    auth: process.env.ELASTICSEARCH_API_KEY ? { apiKey: process.env.ELASTICSEARCH_API_KEY } : undefined,
  });
  onTestFinished(async () => {
    await set.close();
    await es.close();
  });
  if (opts.startWorker !== false) t.startWorker({ handlers: set.handlers, queues: { search: 200 } });
  return { t, set, es, alias: `${t.config.SEARCH_INDEX_PREFIX}-products` };
}

type IndexJob = { operation: 'upsert' | 'delete'; id: string; document?: Record<string, unknown>; version?: number };

async function enqueue(t: TestPlatform, jobs: IndexJob[]): Promise<string[]> {
  const res = await t.api('POST', '/v1/jobs/bulk', {
    jobs: jobs.map((data) => ({ name: 'search.index', data: { index: 'products', ...data } })),
  });
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  return res.body.jobs.map((j: { id: string }) => j.id);
}

async function finished(t: TestPlatform, ids: string[], timeoutMs = 20_000): Promise<JobView[]> {
  return waitFor(
    async () => {
      const views = await Promise.all(ids.map((id) => t.engine.getJob(id)));
      return views.every((v) => v && (v.state === 'completed' || v.state === 'dead')) && (views as JobView[]);
    },
    { timeoutMs, what: `${ids.length} search jobs finished` },
  );
}

const product = (n: number, extra: Record<string, unknown> = {}) => ({
  name: `product ${n}`,
  price: n,
  category: n % 2 ? 'odd' : 'even',
  ...extra,
});

async function count(es: Client, index: string) {
  await es.indices.refresh({ index });
  return (await es.count({ index })).count;
}

describeEngines('search.index', (engine) => {
  it('coalesces many jobs into few _bulk requests, one result per job', async () => {
    // a wait long enough that batches fill by count even on a loaded machine
    const s = await searchSetup(engine, { SEARCH_BULK_WAIT_MS: '500' }, { startWorker: false });
    const n = 300;
    const ids = await enqueue(
      s.t,
      Array.from({ length: n }, (_, i) => ({ operation: 'upsert' as const, id: `p${i}`, document: product(i), version: 1 })),
    );
    const bulkBefore = backend.standin?.stats.bulkRequests ?? 0;
    s.t.startWorker({ handlers: s.set.handlers, queues: { search: 200 } });
    const views = await finished(s.t, ids);
    expect(views.filter((v) => v.state !== 'completed')).toEqual([]);
    expect(views.map((v) => (v.result as { result: string }).result).every((r) => r === 'created')).toBe(true);
    expect(await count(s.es, s.alias)).toBe(n);
    const requests = s.set.batcher?.stats.requests ?? 0;
    // 300 jobs at up to 50 per request: far fewer requests than jobs (the exact number depends on timing)
    expect(requests).toBeGreaterThanOrEqual(n / 50);
    expect(requests).toBeLessThanOrEqual(n / 5);
    if (backend.standin) expect(backend.standin.stats.bulkRequests - bulkBefore).toBe(requests);
  });

  it('retries an item the cluster rejects with 429 and indexes it; the rest of the batch completes at once', async () => {
    if (!standinOnly('per-item 429')) return;
    const s = await searchSetup(engine, {}, { startWorker: false });
    backend.standin?.faults.rejectItems.set('r3', 2);
    const ids = await enqueue(
      s.t,
      Array.from({ length: 6 }, (_, i) => ({ operation: 'upsert' as const, id: `r${i}`, document: product(i), version: 1 })),
    );
    s.t.startWorker({ handlers: s.set.handlers, queues: { search: 200 } });
    const views = await finished(s.t, ids);
    expect(views.map((v) => v.state)).toEqual(Array(6).fill('completed'));
    expect(views[3]?.attempts.made).toBe(3);
    expect(views.filter((_, i) => i !== 3).every((v) => v.attempts.made === 1)).toBe(true);
    expect(backend.standin?.faults.rejectItems.get('r3')).toBe(0);
    expect((await s.es.get({ index: s.alias, id: 'r3' }))._source).toEqual(product(3));
  });

  it('retries every job of a bulk request that failed as a whole (500)', async () => {
    if (!standinOnly('whole-request 500')) return;
    const s = await searchSetup(engine, {}, { startWorker: false });
    const ids = await enqueue(
      s.t,
      [0, 1, 2].map((i) => ({ operation: 'upsert' as const, id: `f${i}`, document: product(i), version: 1 })),
    );
    backend.standin?.faults.failRequests.push({ pathSuffix: '/_bulk', status: 500, count: 1 });
    s.t.startWorker({ handlers: s.set.handlers, queues: { search: 200 } });
    const views = await finished(s.t, ids);
    expect(views.map((v) => v.state)).toEqual(['completed', 'completed', 'completed']);
    expect(Math.max(...views.map((v) => v.attempts.made))).toBe(2);
    expect(await count(s.es, s.alias)).toBe(3);
  });

  it('dead-letters a document the mapping rejects, with the reason, while the rest of its batch completes', async () => {
    const s = await searchSetup(engine, {}, { startWorker: false });
    const docs = [0, 1, 2, 3, 4].map((i) => ({ operation: 'upsert' as const, id: `m${i}`, document: product(i), version: 1 }));
    (docs[2] as IndexJob).document = { name: 'broken', price: 'not a number' };
    const ids = await enqueue(s.t, docs);
    s.t.startWorker({ handlers: s.set.handlers, queues: { search: 200 } });
    const views = await finished(s.t, ids);
    expect(views.map((v) => v.state)).toEqual(['completed', 'completed', 'dead', 'completed', 'completed']);
    expect(views[2]?.attempts.made).toBe(1);
    const letters = await s.t.engine.listDeadLetters(['search'], 10);
    expect(letters).toHaveLength(1);
    expect(letters[0]?.id).toBe(ids[2]);
    expect(letters[0]?.reason).toMatch(
      /permanent error: Elasticsearch rejected document "m2": (document|mapper)_parsing_exception: .*price/,
    );
    expect(await count(s.es, s.alias)).toBe(4);
  });

  it('never lets an older event overwrite a newer document (external versions), deletes included', async () => {
    const s = await searchSetup(engine);
    const run = async (job: IndexJob) => {
      const [view] = await finished(s.t, await enqueue(s.t, [job]));
      expect(view?.state, JSON.stringify(view?.error)).toBe('completed');
      return (view?.result as { result: string } | undefined)?.result;
    };
    expect(await run({ operation: 'upsert', id: 'v', document: product(2, { name: 'second' }), version: 20 })).toBe('created');
    expect(await run({ operation: 'upsert', id: 'v', document: product(1, { name: 'first' }), version: 10 })).toBe('stale');
    // a retry of the event already applied is a no-op too
    expect(await run({ operation: 'upsert', id: 'v', document: product(2, { name: 'second' }), version: 20 })).toBe('stale');
    const doc = await s.es.get({ index: s.alias, id: 'v' });
    expect(doc._source).toMatchObject({ name: 'second' });
    expect(doc._version).toBe(20);
    expect(await run({ operation: 'upsert', id: 'v', document: product(3, { name: 'third' }), version: 30 })).toBe('updated');
    expect(await run({ operation: 'delete', id: 'v', version: 40 })).toBe('deleted');
    // an upsert older than the delete does not bring the document back
    expect(await run({ operation: 'upsert', id: 'v', document: product(3, { name: 'third' }), version: 35 })).toBe('stale');
    expect(await s.es.exists({ index: s.alias, id: 'v' })).toBe(false);
    // deleting what is not there completes
    expect(await run({ operation: 'delete', id: 'never-there' })).toBe('not_found');
  });

  it('rejects a bad payload at enqueue with the field named', async () => {
    const t = await setup({ engine, ...searchEnv(backend) });
    const res = await t.api('POST', '/v1/jobs', { name: 'search.index', data: { index: 'products', operation: 'upsert', id: 'x' } });
    expect(res.status).toBe(400);
    expect(res.body.error.details).toContainEqual(expect.objectContaining({ path: 'data.document' }));
    const res2 = await t.api('POST', '/v1/jobs', { name: 'search.index', data: { index: 'nope', operation: 'delete', id: 'x' } });
    expect(res2.status).toBe(400);
    expect(res2.body.error.details).toContainEqual(expect.objectContaining({ path: 'data.index' }));
  });
});

describeEngines('search release step', (engine) => {
  it('puts the template and creates the alias once; running it again changes nothing', async () => {
    const t = await setup({ engine, ...searchEnv(backend) });
    const es = new Client({ node: backend.url });
    try {
      const alias = `${t.config.SEARCH_INDEX_PREFIX}-products`;
      await searchReleaseTask.run({ config: t.config, logger: quietLogger, engine: t.engine });
      const first = await es.indices.getAlias({ name: alias });
      expect(Object.keys(first)).toEqual([`${alias}-v1`]);
      const tpl = await es.indices.getIndexTemplate({ name: alias });
      expect(tpl.index_templates[0]?.index_template.index_patterns).toEqual([`${alias}-v*`]);
      await searchReleaseTask.run({ config: t.config, logger: quietLogger, engine: t.engine });
      expect(await es.indices.getAlias({ name: alias })).toEqual(first);
      expect(Object.keys(await es.indices.get({ index: `${alias}-*` }))).toEqual([`${alias}-v1`]);
      // the mapping came from core/search/templates/products.json
      const mapping = await es.indices.getMapping({ index: `${alias}-v1` });
      expect(mapping[`${alias}-v1`]?.mappings.properties?.price).toMatchObject({ type: 'float' });
      // a worker's lazy setup leaves a template on the cluster alone (an older worker cannot undo a
      // release); the release step puts ours back
      await es.indices.putIndexTemplate({ name: alias, index_patterns: [`${alias}-v*`], _meta: { by: 'someone else' } });
      await setupIndex(es, t.config.SEARCH_INDEX_PREFIX, searchIndexes.products, { overwrite: false });
      expect((await es.indices.getIndexTemplate({ name: alias })).index_templates[0]?.index_template._meta).toEqual({ by: 'someone else' });
      await searchReleaseTask.run({ config: t.config, logger: quietLogger, engine: t.engine });
      expect((await es.indices.getIndexTemplate({ name: alias })).index_templates[0]?.index_template._meta).toMatchObject({
        managed_by: 'conveyor',
      });
    } finally {
      await es.close();
    }
  });
});

/** Lock the source table, enqueue search.reindex, and wait until it is blocked reading the source. */
async function reindexBlockedAtSource(s: SearchTest, src: { url: string; db: pg.Client }): Promise<string> {
  await src.db.query('BEGIN');
  await src.db.query('LOCK TABLE search_products IN ACCESS EXCLUSIVE MODE');
  const res = await s.t.api('POST', '/v1/jobs', { name: 'search.reindex', data: { index: 'products' } });
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  await waitFor(async () => (await waitingOnSource(src.db)) === 1, { timeoutMs: 20_000, what: 'the reindex waiting on its source read' });
  return res.body.id;
}

async function waitingOnSource(db: pg.Client): Promise<number> {
  return (await db.query("SELECT 1 FROM pg_locks WHERE relation = 'search_products'::regclass AND NOT granted")).rowCount ?? 0;
}

describeEngines('search.reindex', (engine) => {
  it('rebuilds from Postgres into a new index and swaps the alias; writes during the rebuild are kept', async () => {
    const src = await sourceSchema();
    const s = await searchSetup(engine, { SEARCH_SOURCE_DATABASE_URL: src.url });
    // live index: 50 documents at version 1
    const n = 50;
    await finished(
      s.t,
      await enqueue(
        s.t,
        Array.from({ length: n }, (_, i) => ({ operation: 'upsert' as const, id: `p${i}`, document: product(i), version: 1 })),
      ),
    );
    // source of truth: the same 50 at version 2, with a new name, plus p50..p59
    await src.db.query(
      `INSERT INTO search_products (id, version, document)
       SELECT 'p' || i, 2, jsonb_build_object('name', 'rebuilt ' || i, 'price', i) FROM generate_series(0, ${n + 9}) i`,
    );
    // Hold the source table so the rebuild stops right at its source read, while live writes go on.
    const reindexId = await reindexBlockedAtSource(s, src);
    const building = await s.es.indices.getAlias({ name: `${s.alias}-building` });
    const newIndex = Object.keys(building)[0];
    expect(newIndex).toBe(`${s.alias}-v2`);
    // writes during the rebuild: newer than the source (v5) for p1, a delete of p2, a document the source lacks
    const during = await enqueue(s.t, [
      { operation: 'upsert', id: 'p1', document: product(1, { name: 'live edit' }), version: 5 },
      { operation: 'delete', id: 'p2', version: 5 },
      { operation: 'upsert', id: 'live-only', document: product(999), version: 5 },
    ]);
    expect((await finished(s.t, during)).map((v) => v.state)).toEqual(['completed', 'completed', 'completed']);
    await src.db.query('COMMIT');
    const job = await waitFor(
      async () => {
        const j = await s.t.engine.getJob(reindexId);
        return j && (j.state === 'completed' || j.state === 'dead') && j;
      },
      { timeoutMs: 30_000, what: 'reindex finished' },
    );
    expect(job.state, JSON.stringify(job.error)).toBe('completed');
    expect(job.result).toMatchObject({ index: newIndex, previous: [`${s.alias}-v1`], rows: n + 10, stale: 2, rejected: 0 });
    // the alias now points at the new index only; the building alias is gone
    expect(Object.keys(await s.es.indices.getAlias({ name: s.alias }))).toEqual([newIndex]);
    expect(await s.es.indices.existsAlias({ name: `${s.alias}-building` })).toBe(false);
    // 60 source rows − deleted p2 + live-only
    expect(await count(s.es, s.alias)).toBe(n + 10);
    expect((await s.es.get({ index: s.alias, id: 'p0' }))._source).toMatchObject({ name: 'rebuilt 0' });
    expect((await s.es.get({ index: s.alias, id: 'p1' }))._source).toMatchObject({ name: 'live edit' });
    expect(await s.es.exists({ index: s.alias, id: 'p2' })).toBe(false);
    expect((await s.es.get({ index: s.alias, id: 'live-only' }))._source).toMatchObject({ price: 999 });
    expect((await s.es.get({ index: s.alias, id: 'p55' }))._source).toMatchObject({ name: 'rebuilt 55' });
    // writes after the swap land in the new index
    const [after] = await finished(
      s.t,
      await enqueue(s.t, [{ operation: 'upsert', id: 'p3', document: product(3, { name: 'after' }), version: 9 }]),
    );
    expect((after?.result as { index: string } | undefined)?.index).toBe(newIndex);
  });

  it('retries source rows the cluster rejects with 429 during a rebuild', async () => {
    if (!standinOnly('per-item 429 during reindex')) return;
    const src = await sourceSchema();
    const s = await searchSetup(engine, { SEARCH_SOURCE_DATABASE_URL: src.url });
    await src.db.query(
      `INSERT INTO search_products (id, version, document)
       SELECT 'q' || i, 1, jsonb_build_object('name', 'row ' || i, 'price', i) FROM generate_series(0, 19) i`,
    );
    backend.standin?.faults.rejectItems.set('q5', 1);
    const res = await s.t.api('POST', '/v1/jobs', { name: 'search.reindex', data: { index: 'products' } });
    const job = await waitFor(
      async () => {
        const j = await s.t.engine.getJob(res.body.id);
        return j && (j.state === 'completed' || j.state === 'dead') && j;
      },
      { timeoutMs: 30_000, what: 'reindex finished' },
    );
    expect(job.state, JSON.stringify(job.error)).toBe('completed');
    expect(job.attempts.made).toBe(1);
    expect(job.result).toMatchObject({ rows: 20, indexed: 20, rejected: 0 });
    expect(backend.standin?.faults.rejectItems.get('q5')).toBe(0);
    expect(await count(s.es, s.alias)).toBe(20);
  });

  it('on cancel stops the source query, removes the half-built index and leaves the alias alone', async () => {
    const src = await sourceSchema();
    const s = await searchSetup(engine, { SEARCH_SOURCE_DATABASE_URL: src.url });
    await finished(s.t, await enqueue(s.t, [{ operation: 'upsert', id: 'keep', document: product(1), version: 1 }]));
    const id = await reindexBlockedAtSource(s, src);
    expect(await s.es.indices.exists({ index: `${s.alias}-v2` })).toBe(true);
    const cancel = await s.t.api('DELETE', `/v1/jobs/${id}`);
    expect(cancel.status, JSON.stringify(cancel.body)).toBe(202);
    await waitFor(async () => (await s.t.engine.getJob(id))?.state === 'cancelled', { timeoutMs: 20_000, what: 'reindex cancelled' });
    // the statement was cancelled on the server (no longer waiting for our lock) and the new index is gone
    await waitFor(async () => (await waitingOnSource(src.db)) === 0, { timeoutMs: 20_000, what: 'source query cancelled' });
    await waitFor(async () => !(await s.es.indices.exists({ index: `${s.alias}-v2` })), {
      timeoutMs: 20_000,
      what: 'half-built index removed',
    });
    await src.db.query('COMMIT');
    expect(await s.es.indices.existsAlias({ name: `${s.alias}-building` })).toBe(false);
    expect(Object.keys(await s.es.indices.getAlias({ name: s.alias }))).toEqual([`${s.alias}-v1`]);
    expect(await count(s.es, s.alias)).toBe(1);
  });
});

describeEngines('search without ELASTICSEARCH_URL', (engine) => {
  it('does not consume the search queue, says why, and the waiting jobs run once a configured worker starts', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, cb) {
        lines.push(String(chunk));
        cb();
      },
    });
    const t = await setup({ engine, SEARCH_INDEX_PREFIX: searchEnv(backend).SEARCH_INDEX_PREFIX as string });
    expect(t.config.ELASTICSEARCH_URL).toBeUndefined();
    const unconfigured = await createSearchHandlers(
      handlerDeps({ config: t.config, logger: pino({ level: 'info' }, sink), backend: t.backend }),
    );
    expect(unconfigured.handlers).toEqual({});
    expect(lines.join('')).toMatch(/search queue not consumed: waiting for config: ELASTICSEARCH_URL is not set/);
    // a worker told to consume `search` explicitly refuses to start rather than dead-letter every job
    await expect(
      createSearchHandlers(
        handlerDeps({ config: { ...t.config, WORKER_QUEUES: { search: 10 } }, logger: quietLogger, backend: t.backend }),
      ),
    ).rejects.toThrow(/WORKER_QUEUES names the search queue but ELASTICSEARCH_URL is not set/);
    const handlers = { ...defaultHandlers, ...unconfigured.handlers };
    expect([...resolveQueues({ '*': undefined }, handlers).keys()]).not.toContain('search');
    t.startWorker({ handlers, queues: { '*': undefined } });

    const [id] = await enqueue(t, [{ operation: 'upsert', id: 'waits', document: product(1), version: 1 }]);
    // the worker is running: a noop job on its default queue completes…
    const noop = await t.api('POST', '/v1/jobs', { name: 'diagnostics.noop', data: {} });
    await waitFor(async () => (await t.engine.getJob(noop.body.id))?.state === 'completed', { what: 'noop completed' });
    // …while the search job still waits
    expect((await t.engine.getJob(id as string))?.state).toBe('waiting');
    const ready = await runReadiness({ config: t.config, backend: t.backend }, await readinessChecks());
    expect(ready.ready).toBe(true);
    expect(ready.checks.elasticsearch).toMatch(/^waiting for config: ELASTICSEARCH_URL is not set/);
    const http = await t.api('GET', '/readyz', undefined, { key: null });
    expect(http.status).toBe(200);
    expect(http.body.checks.elasticsearch).toMatch(/^waiting for config/);
    const status = await t.api('GET', '/v1/search/status');
    expect(status.status).toBe(200);
    expect(status.body).toMatchObject({ configured: false, consumed: false, queue: { name: 'search', counts: { waiting: 1 } } });

    // configure it: a worker with ELASTICSEARCH_URL picks the job up
    const configured = await createSearchHandlers(
      handlerDeps({ config: { ...t.config, ...{ ELASTICSEARCH_URL: backend.url } }, logger: quietLogger, backend: t.backend }),
    );
    try {
      t.startWorker({ handlers: configured.handlers, queues: { search: 200 } });
      const [view] = await finished(t, [id as string]);
      expect(view?.state).toBe('completed');
    } finally {
      await configured.close();
    }
  });
});
