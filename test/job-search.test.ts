// Job search (GET /v1/jobs) and bulk actions by filter (POST /v1/jobs/actions) on each engine: payload
// field, prefix, arrays, state, time window, pagination, scopes; bulk retry of 1,000 dead letters with a
// dry-run count first; keys that may not run bulk actions.
import { describe, expect, it } from 'vitest';
import { generateApiKey } from '../producers/auth.ts';
import { describeEngines } from './engines.ts';
import { setup, waitFor } from './helpers.ts';

const WAIT = { timeoutMs: 20_000, intervalMs: 100 };

function keys() {
  const admin = generateApiKey();
  const email = generateApiKey();
  const noop = generateApiKey();
  const metrics = generateApiKey();
  return {
    env: {
      API_KEYS: JSON.stringify([
        { name: 'admin', sha256: admin.sha256, scopes: ['admin'] },
        { name: 'email-ops', sha256: email.sha256, scopes: ['queue:email'] },
        { name: 'noop-only', sha256: noop.sha256, scopes: ['diagnostics.noop'] },
        { name: 'metrics', sha256: metrics.sha256, scopes: ['metrics'] },
      ]),
    },
    admin: admin.key,
    email: email.key,
    noop: noop.key,
    metrics: metrics.key,
  };
}

const mail = (to: string | string[], name = 'Ada') => ({
  name: 'email.send',
  data: { to, template: 'welcome', vars: { name, loginUrl: 'https://x.test/l' } },
});

describeEngines('job search', { timeout: 120_000 }, (engine) => {
  it('finds jobs by payload field (exact, prefix, nested, in arrays, numbers), kind and state; newest first', async () => {
    const k = keys();
    const t = await setup({ engine, ...k.env });
    const api = (method: string, path: string, body?: unknown, key = k.admin) => t.api(method, path, body, { key });
    const ids: Record<string, string> = {};
    for (const [label, body] of [
      ['ada', mail('ada@example.com')],
      ['adam', mail('adam@example.com', 'Adam')],
      ['list', mail(['bob@example.com', 'ada@example.com'], 'Both')],
      ['bob', mail('bob@example.com', 'Bob')],
      ['note42', { name: 'diagnostics.noop', data: { note: '42' } }],
      ['sleep', { name: 'diagnostics.sleep', data: { ms: 5, tag: 'ada@example.com', failAttempts: 42 } }],
    ] as const) {
      const r = await api('POST', '/v1/jobs', body);
      expect(r.status, JSON.stringify(r.body)).toBe(202);
      ids[label] = r.body.id;
    }
    const find = async (qs: string, key = k.admin) => {
      const r = await api('GET', `/v1/jobs?${qs}`, undefined, key);
      expect(r.status, `${qs}: ${JSON.stringify(r.body)}`).toBe(200);
      return (r.body.jobs as { id: string }[]).map((j) => j.id);
    };
    const labels = (found: string[]) => found.map((id) => Object.entries(ids).find(([, v]) => v === id)?.[0] ?? id);

    expect(labels(await find('data.to=ada@example.com'))).toEqual(['list', 'ada']); // array element, newest first
    expect(labels(await find('kind=email.send&data.to=ada@example.com'))).toEqual(['list', 'ada']);
    expect(labels(await find(`data.to=${encodeURIComponent('ada*')}`))).toEqual(['list', 'adam', 'ada']);
    expect(labels(await find(`data.vars.name=${encodeURIComponent('Ad*')}`))).toEqual(['adam', 'ada']);
    expect(labels(await find('data.vars.name=Ad'))).toEqual([]); // exact is exact
    expect(labels(await find('data.tag=ada@example.com'))).toEqual(['sleep']);
    expect(labels(await find('data.failAttempts=42'))).toEqual(['sleep']); // a number by its text
    expect(labels(await find('data.note=42'))).toEqual(['note42']); // a string "42"
    expect(labels(await find('kind=diagnostics.noop'))).toEqual(['note42']);
    expect(labels(await find('queue=email&data.to=bob@example.com'))).toEqual(['bob', 'list']);
    expect(labels(await find('queue=default&data.to=bob@example.com'))).toEqual([]);
    expect((await find('state=waiting,delayed')).length).toBe(6);
    expect(await find('state=completed')).toEqual([]);

    // scoped keys: only their kinds or queues; asking for another's is a 403
    expect(labels(await find('data.tag=ada@example.com', k.noop))).toEqual([]);
    expect(labels(await find('', k.noop))).toEqual(['note42']);
    expect(labels(await find('data.to=ada@example.com', k.email))).toEqual(['list', 'ada']);
    expect((await t.api('GET', '/v1/jobs?kind=email.send', undefined, { key: k.noop })).status).toBe(403);
    expect((await t.api('GET', '/v1/jobs?queue=email', undefined, { key: k.metrics })).status).toBe(403);
  });

  it('filters by state and time window and pages with an opaque cursor', async () => {
    const t = await setup({ engine });
    const first = await t.api('POST', '/v1/jobs/bulk', {
      jobs: Array.from({ length: 25 }, (_, i) => ({ name: 'diagnostics.noop', data: { note: `batch-${i}` } })),
    });
    expect(first.status).toBe(202);
    const marker = new Date(Date.now() + 5).toISOString();
    await waitFor(() => Date.now() > Date.parse(marker) + 5);
    const later = await t.api('POST', '/v1/jobs/bulk', {
      jobs: Array.from({ length: 5 }, (_, i) => ({ name: 'diagnostics.noop', data: { note: `late-${i}` } })),
    });
    expect(later.status).toBe(202);
    const delayed = await t.api('POST', '/v1/jobs', { name: 'diagnostics.noop', data: { note: 'later' }, options: { delay: 60_000 } });

    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const r = await t.api('GET', `/v1/jobs?kind=diagnostics.noop&limit=7${cursor ? `&cursor=${cursor}` : ''}`);
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect(r.body.jobs.length).toBeLessThanOrEqual(7);
      seen.push(...r.body.jobs.map((j: { id: string }) => j.id));
      cursor = r.body.next;
      pages++;
    } while (cursor && pages < 20);
    expect(seen.length).toBe(31);
    expect(new Set(seen).size).toBe(31); // no job twice across pages
    expect(pages).toBe(5);

    const since = await t.api('GET', `/v1/jobs?since=${encodeURIComponent(marker)}&limit=100`);
    expect(since.body.jobs.map((j: { data: { note: string } }) => j.data.note).sort()).toEqual(
      ['late-0', 'late-1', 'late-2', 'late-3', 'late-4', 'later'].sort(),
    );
    const until = await t.api('GET', `/v1/jobs?until=${encodeURIComponent(marker)}&limit=100`);
    expect(until.body.jobs).toHaveLength(25);
    const state = await t.api('GET', '/v1/jobs?state=delayed');
    expect(state.body.jobs.map((j: { id: string }) => j.id)).toEqual([delayed.body.id]);
  });

  it('answers a bad parameter with a 400 naming it', async () => {
    const t = await setup({ engine });
    for (const [qs, path] of [
      ['state=sleeping', 'state'],
      ['kind=no.such', 'kind'],
      ['queue=nope', 'queue'],
      ['since=yesterday', 'since'],
      ['since=2026-01-02&until=2026-01-01', 'until'],
      ['limit=0', 'limit'],
      ['limit=9999', 'limit'],
      ['cursor=bm9wZQ', 'cursor'],
      ['cursor=%3Cscript%3E', 'cursor'],
      ['data.=x', 'data.'],
      ['data.$conveyor=x', 'data.$conveyor'],
      ['data.to=*', 'data.to'],
      ['data.to=a%00b', 'data.to'],
      ['group=g1', 'group'],
      ['colour=red', 'colour'],
    ]) {
      const r = await t.api('GET', `/v1/jobs?${qs}`);
      expect(r.status, qs).toBe(400);
      expect(r.body.error.details[0].path, qs).toBe(path);
    }
  });
});

describeEngines('bulk actions by filter', { timeout: 180_000 }, (engine) => {
  it('retries 1,000 dead letters by filter: a dry-run count first, then in batches with progress', async () => {
    const k = keys();
    const t = await setup({ engine, ...k.env });
    const api = (method: string, path: string, body?: unknown, key = k.admin) => t.api(method, path, body, { key });
    const jobs = (tag: string, n: number) =>
      Array.from({ length: n }, () => ({ name: 'diagnostics.sleep', data: { ms: 0, fail: 'permanent', tag }, options: { attempts: 1 } }));
    for (let i = 0; i < 10; i++) expect((await api('POST', '/v1/jobs/bulk', { jobs: jobs('bulk-dead', 100) })).status).toBe(202);
    expect((await api('POST', '/v1/jobs/bulk', { jobs: jobs('other', 20) })).status).toBe(202);
    const rt = t.startWorker({ queues: { default: 50 } });
    await waitFor(async () => (await t.engine.queueInfo(['default']))[0]?.counts.dead === 1020, { ...WAIT, what: '1,020 dead' });
    await rt.close(5_000);

    const filter = { kind: 'diagnostics.sleep', state: 'dead', 'data.tag': 'bulk-dead' };
    const dry = await api('POST', '/v1/jobs/actions', { filter, action: 'retry', dryRun: true });
    expect(dry, JSON.stringify(dry.body)).toMatchObject({ status: 200, body: { dryRun: true, matched: 1000 } });
    expect((await t.engine.queueInfo(['default']))[0]?.counts.dead).toBe(1020); // a dry run changes nothing

    const run = await api('POST', '/v1/jobs/actions', { filter, action: 'retry' });
    expect(run.status, JSON.stringify(run.body)).toBe(202);
    expect(run.body).toMatchObject({ status: 'running', matched: 1000, by: 'admin' });
    const done = await waitFor(
      async () => {
        const p = await api('GET', run.headers.get('location') as string);
        return p.body.status === 'done' && p.body;
      },
      { ...WAIT, what: 'bulk action done' },
    );
    expect(done).toMatchObject({ processed: 1000, succeeded: 1000, skipped: 0, failed: 0 });
    const info = (await t.engine.queueInfo(['default']))[0];
    expect(info?.counts.dead).toBe(20); // the others are untouched
    expect(info?.counts.waiting).toBe(1000);
    const left = await api('POST', '/v1/jobs/actions', { filter, action: 'retry', dryRun: true });
    expect(left.body.matched).toBe(0);
    const waiting = await api('POST', '/v1/jobs/actions', {
      filter: { state: 'waiting', data: { tag: 'bulk-dead' } },
      action: 'retry',
      dryRun: true,
    });
    expect(waiting.body.matched).toBe(1000);
  });

  it('promote skips a grouped job: its group releases it, so promoting would run it past the group limits', async () => {
    const t = await setup({ engine });
    const plain = await t.api('POST', '/v1/jobs', { name: 'diagnostics.noop', data: { note: 'g-plain' }, options: { delay: 60_000 } });
    const grouped = await t.api('POST', '/v1/jobs', {
      name: 'diagnostics.noop',
      data: { note: 'g-grouped' },
      options: { delay: 60_000, group: 'tenant-1' },
    });
    expect((await t.api('GET', `/v1/jobs/${grouped.body.id}`)).body).toMatchObject({ state: 'delayed', group: 'tenant-1' });
    const promote = await t.api('POST', '/v1/jobs/actions', { filter: { 'data.note': 'g-*' }, action: 'promote' });
    expect(promote.status, JSON.stringify(promote.body)).toBe(202);
    const done = await waitFor(async () => {
      const p = await t.api('GET', `/v1/jobs/actions/${promote.body.id}`);
      return p.body.status === 'done' && p.body;
    }, WAIT);
    expect(done).toMatchObject({ processed: 2, succeeded: 1, skipped: 1 });
    expect((await t.engine.getJob(plain.body.id))?.state).toBe('waiting');
    expect((await t.api('GET', `/v1/jobs/${grouped.body.id}`)).body.state).toBe('delayed');
  });

  it('cancel, promote, retry and delete act only on jobs in a state they apply to', async () => {
    const t = await setup({ engine });
    const add = (note: string, delayMs = 0) =>
      t.api('POST', '/v1/jobs', { name: 'diagnostics.noop', data: { note }, options: { delay: delayMs } });
    const d1 = await add('p-1', 60_000);
    const d2 = await add('p-2', 60_000);
    await add('w-1');
    const promote = await t.api('POST', '/v1/jobs/actions', { filter: { 'data.note': 'p-*' }, action: 'promote' });
    let last: unknown;
    const done = (id: string) =>
      waitFor(async () => {
        const p = await t.api('GET', `/v1/jobs/actions/${id}`);
        last = p.body;
        return p.body.status === 'done' && p.body;
      }, WAIT).catch((e) => {
        throw new Error(`${e.message}: ${JSON.stringify(last)}`);
      });
    expect(promote.status, JSON.stringify(promote.body)).toBe(202);
    expect(await done(promote.body.id)).toMatchObject({ processed: 2, succeeded: 2 });
    for (const d of [d1, d2]) expect((await t.engine.getJob(d.body.id))?.state).toBe('waiting');

    const cancel = await t.api('POST', '/v1/jobs/actions', { filter: { kind: 'diagnostics.noop' }, action: 'cancel' });
    expect(await done(cancel.body.id)).toMatchObject({ processed: 3, succeeded: 3 });
    const none = await t.api('POST', '/v1/jobs/actions', { filter: { state: 'waiting' }, action: 'cancel', dryRun: true });
    expect(none.body.matched).toBe(0);

    const dying = (tag: string) =>
      t.api('POST', '/v1/jobs', { name: 'diagnostics.sleep', data: { ms: 0, fail: 'permanent', tag }, options: { attempts: 1 } });
    const dead = await dying('del');
    const again = await dying('again');
    const rt = t.startWorker({ queues: { default: 2 } });
    for (const j of [dead, again]) await waitFor(async () => (await t.engine.getJob(j.body.id))?.state === 'dead', WAIT);
    await rt.close(5_000);
    const retry = await t.api('POST', '/v1/jobs/actions', { filter: { 'data.tag': 'again', state: 'dead,waiting' }, action: 'retry' });
    expect(await done(retry.body.id)).toMatchObject({ processed: 1, succeeded: 1 });
    expect(await t.engine.getJob(again.body.id)).toMatchObject({ state: 'waiting', attempts: { made: 0 } });
    const del = await t.api('POST', '/v1/jobs/actions', { filter: { 'data.tag': 'del' }, action: 'delete' });
    expect(await done(del.body.id)).toMatchObject({ processed: 1, succeeded: 1 });
    expect(await t.engine.getJob(dead.body.id)).toBeNull();
    expect((await t.engine.listDeadLetters(['default'], 10)).map((d) => d.id)).toEqual([]);
  });

  it('refuses keys without admin or queue:<name> for every queue the filter touches', async () => {
    const k = keys();
    const t = await setup({ engine, ...k.env });
    const post = (body: unknown, key: string) => t.api('POST', '/v1/jobs/actions', body, { key });
    expect((await post({ filter: {}, action: 'retry', dryRun: true }, k.noop)).status).toBe(403);
    expect((await post({ filter: { kind: 'diagnostics.noop' }, action: 'delete' }, k.noop)).status).toBe(403);
    expect((await post({ filter: { queue: 'default' }, action: 'retry' }, k.email)).status).toBe(403);
    expect((await post({ filter: {}, action: 'cancel' }, k.metrics)).status).toBe(403);
    // a queue key acts on its queue (the filter narrowed to it)
    const own = await post({ filter: {}, action: 'cancel', dryRun: true }, k.email);
    expect(own).toMatchObject({ status: 200, body: { queues: ['email'] } });
    const bad = await post({ filter: { state: 'nope' }, action: 'retry' }, k.admin);
    expect(bad.status).toBe(400);
    expect(bad.body.error.details[0].path).toBe('filter.state');
    const badAction = await post({ filter: {}, action: 'explode' }, k.admin);
    expect(badAction.status).toBe(400);
    expect((await t.api('GET', '/v1/jobs/actions/nope', undefined, { key: k.admin })).status).toBe(404);
  });
});

describe('job search parameters', () => {
  it('keeps the filter syntax in one place', async () => {
    const { dataMatch } = await import('../core/search.ts');
    expect(dataMatch('data.to', 'ada@*')).toEqual({ path: ['to'], value: 'ada@', prefix: true });
    expect(dataMatch('data.to', 'a\\*')).toEqual({ path: ['to'], value: 'a*', prefix: false });
    expect(dataMatch('data.vars.name', 'Ada')).toEqual({ path: ['vars', 'name'], value: 'Ada', prefix: false });
  });
});
