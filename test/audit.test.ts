// The audit log (core/audit.ts) on both engines: the store contract (filters, newest-first pages,
// retention), every mutating route of the route table recorded with who, what, target, request id and
// outcome (walked from GET /v1/openapi.json, so a new route cannot forget), the CLI and the dashboard
// (sign-in, sign-out, our forms, Bull Board's API) recorded too — every unsafe route of the dashboard's
// router walked the same way, so a page another domain adds is covered —, no API route registered
// around the route table, and GET /v1/audit's checks.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Router } from 'express';
import { describe, expect, it, onTestFinished } from 'vitest';
import { AuditLog, cursorOf } from '../core/audit.ts';
import type { AuditEntry, AuditStore } from '../core/stores.ts';
import { dashboardAction } from '../dashboard/audit.ts';
import { createDashboard } from '../dashboard/index.ts';
import { DashboardClient, dashboardOverrides, PASSWORDS } from './dashboard-users.ts';
import { describeEngines, engineFactories } from './engines.ts';
import { quietLogger, setup, type TestPlatform } from './helpers.ts';

const T0 = Date.parse('2026-01-01T00:00:00Z');

function entry(i: number, over: Partial<AuditEntry> = {}): AuditEntry {
  return {
    id: randomUUID(),
    at: new Date(T0 + i * 1000).toISOString(),
    actor: i % 2 ? 'ana' : 'ci-key',
    actorType: i % 2 ? 'user' : 'key',
    via: i % 2 ? 'dashboard' : 'api',
    action: i % 3 === 0 ? 'queue.pause' : 'dead-letter.replay',
    target: `queue:q${i % 2}`,
    requestId: `r-${i}`,
    outcome: i === 4 ? 'denied' : 'ok',
    status: i === 4 ? 403 : 200,
    ...over,
  };
}

async function all(store: AuditStore, filter = {}, limit = 3) {
  const seen: AuditEntry[] = [];
  let cursor: string | undefined;
  for (let pages = 0; pages < 50; pages++) {
    const page = await store.list(filter, limit, cursor);
    seen.push(...page.entries);
    if (!page.next) return seen;
    cursor = page.next;
  }
  throw new Error('more than 50 pages');
}

for (const factory of engineFactories) {
  describe(`[${factory.name}] audit store contract`, () => {
    const made = async () => {
      const m = await factory.create();
      onTestFinished(() => m.cleanup());
      return m.backend.audit;
    };

    it('lists newest first, a page at a time, every entry once; filters combine', async () => {
      const store = await made();
      const entries = Array.from({ length: 10 }, (_, i) => entry(i));
      for (const e of [...entries].reverse()) await store.append(e); // order of arrival does not matter
      const ids = (list: AuditEntry[]) => list.map((e) => e.requestId);
      expect(ids(await all(store))).toEqual(entries.map((e) => e.requestId).reverse());
      expect(await all(store)).toContainEqual(entries[3]); // stored as given
      expect(ids(await all(store, { actor: 'ana' }))).toEqual(['r-9', 'r-7', 'r-5', 'r-3', 'r-1']);
      expect(ids(await all(store, { action: 'queue.pause' }))).toEqual(['r-9', 'r-6', 'r-3', 'r-0']);
      expect(ids(await all(store, { action: 'queue.' }))).toEqual(['r-9', 'r-6', 'r-3', 'r-0']); // a prefix
      expect(ids(await all(store, { action: 'queue' }))).toEqual([]); // not a prefix without the dot
      expect(ids(await all(store, { target: 'queue:q0', outcome: 'denied' }))).toEqual(['r-4']);
      expect(ids(await all(store, { via: 'api', since: T0 + 2000, until: T0 + 6000 }))).toEqual(['r-4', 'r-2']);
      expect(ids(await all(store, { requestId: 'r-5' }))).toEqual(['r-5']);
      const first = await store.list({}, 2);
      expect(ids(first.entries)).toEqual(['r-9', 'r-8']);
      expect(first.next).toBe(cursorOf(entries[8] as AuditEntry));
      expect(ids((await store.list({}, 2, first.next as string)).entries)).toEqual(['r-7', 'r-6']);
    });

    it('keeps entries for AUDIT_RETENTION_DAYS: a sweep removes the older ones only', async () => {
      const store = await made();
      const day = 86_400_000;
      const log = new AuditLog(store, { retentionDays: 30, logger: quietLogger, now: () => T0 + 40 * day });
      await store.append(entry(0)); // 40 days old
      await store.append(entry(1, { at: new Date(T0 + 20 * day).toISOString() })); // 20 days old
      const recorded = await log.record({
        actor: 'ana',
        actorType: 'user',
        via: 'dashboard',
        action: 'queue.resume',
        target: 'queue:q1',
        requestId: 'r-now',
        status: 500,
      });
      expect(recorded.outcome).toBe('failed');
      await log.sweep();
      expect((await all(store)).map((e) => e.requestId)).toEqual(['r-now', 'r-1']);
    });
  });
}

/** A value for each path parameter: a known one where the schema names them (queues), else a made-up id. */
function fillPath(path: string, op: any): string {
  return path.replace(/\{(\w+)\}/g, (_m, name: string) => {
    const p = (op.parameters ?? []).find((x: any) => x.in === 'path' && x.name === name);
    return encodeURIComponent(p?.schema?.enum?.[0] ?? `audit-walk-${name}`);
  });
}

const auditOf = async (t: TestPlatform, requestId: string) =>
  (await t.api('GET', `/v1/audit?requestId=${encodeURIComponent(requestId)}`)).body.entries as AuditEntry[];

/** Every non-GET route of an express router, sub-routers included (Express 5 keeps a layer's mount path in rawPath). */
function unsafeRoutes(router: Router, prefix = ''): [method: string, path: string][] {
  const out: [string, string][] = [];
  for (const layer of (router as unknown as { stack: any[] }).stack) {
    if (layer.route) {
      for (const m of Object.keys(layer.route.methods))
        if (m !== 'get' && m !== 'head') out.push([m.toUpperCase(), prefix + layer.route.path]);
    } else if (Array.isArray(layer.handle?.stack) && typeof layer.rawPath === 'string') {
      out.push(...unsafeRoutes(layer.handle, prefix + layer.rawPath));
    }
  }
  return out;
}

/** .ts files under `dir` (recursively) */
function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? sources(join(dir, d.name)) : d.name.endsWith('.ts') ? [join(dir, d.name)] : [],
  );
}

describe('no mutating API route around the route table', () => {
  it('only the dashboard registers express POST/PUT/PATCH/DELETE handlers itself (its middleware records them)', () => {
    const root = join(import.meta.dirname, '..');
    const direct = /\b\w+\s*\.\s*(post|put|patch|delete)\s*\(\s*['"`]\//;
    const found = ['producers', 'workers', 'core', 'scheduler', 'processes']
      .flatMap((d) => sources(join(root, d)))
      .flatMap((file) =>
        readFileSync(file, 'utf8')
          .split('\n')
          .map((line, i) => [file.slice(root.length + 1), i + 1, line] as const)
          .filter(([, , line]) => direct.test(line) && !line.trim().startsWith('//') && !line.trim().startsWith('*')),
      )
      .map(([file, n, line]) => `${file}:${n}: ${line.trim()}`);
    // a route here would skip `audit` (and OpenAPI): declare it in the route table (core/http/route.ts) instead
    expect(found).toEqual([]);
  });
});

describeEngines('audit log', { timeout: 60_000 }, (engine) => {
  it('records every mutating route of the route table; exempt ones (enqueue) record nothing', async () => {
    const t = await setup({ engine });
    const doc = (await t.api('GET', '/v1/openapi.json')).body;
    const walked: string[] = [];
    for (const [path, item] of Object.entries<Record<string, any>>(doc.paths)) {
      for (const [method, op] of Object.entries(item)) {
        if (method === 'get') continue;
        const name = `${method.toUpperCase()} ${path}`;
        expect(op['x-audit'], `${name} declares no audit`).toBeDefined();
        const requestId = `walk-${randomUUID()}`;
        const res = await t.api(method.toUpperCase(), fillPath(path, op), op.requestBody ? {} : undefined, {
          headers: { 'x-request-id': requestId },
        });
        expect(res.status, name).toBeLessThan(500);
        const entries = await auditOf(t, requestId);
        if (op['x-audit'].exempt) {
          expect(entries, `${name} is exempt`).toEqual([]);
          continue;
        }
        expect(entries, `${name} → one entry`).toHaveLength(1);
        expect(entries[0], name).toMatchObject({
          action: op['x-audit'].action,
          actor: 'admin',
          actorType: 'key',
          via: 'api',
          status: res.status,
          requestId,
        });
        walked.push(`${name} ${res.status}`);
      }
    }
    // the table's mutating routes today; a new one is walked by the loop above without changing this test
    expect(walked.length).toBeGreaterThanOrEqual(10);
    console.info(`[${engine}] audited routes walked:\n  ${walked.join('\n  ')}`);
  });

  it('records every unsafe route of the dashboard router, read from the router itself (pages other domains add too)', async () => {
    const t = await setup({ engine, ...(await dashboardOverrides()) });
    const probe = await createDashboard({ config: t.config, logger: quietLogger, backend: t.backend });
    const routes = unsafeRoutes(probe.router);
    await probe.close();
    // sign-in and sign-out are walked by the test above; Bull Board's calls are named by dashboardAction (below)
    const skip = (path: string) => path === '/login' || path === '/logout' || path.startsWith('/board');
    const admin = new DashboardClient(t.baseUrl);
    expect((await admin.login('admin', PASSWORDS.admin)).status).toBe(303);
    const walked: string[] = [];
    for (const [method, path] of routes) {
      if (skip(path)) continue;
      const requestId = `dash-walk-${randomUUID()}`;
      const url = `/admin${path.replace(/:(\w+)/g, (_m, name: string) => `audit-walk-${name}`)}`;
      const res = await admin.request(method, url, { form: { _csrf: admin.csrf }, headers: { 'x-request-id': requestId } });
      expect(res.status, `${method} ${url}`).toBeLessThan(500);
      const entries = await auditOf(t, requestId);
      expect(entries, `${method} ${url} → one entry`).toHaveLength(1);
      expect(entries[0], url).toMatchObject({ actor: 'admin', actorType: 'user', via: 'dashboard', status: res.status });
      walked.push(`${method} ${path} → ${entries[0]?.action} ${res.status}`);
    }
    expect(walked.length).toBeGreaterThanOrEqual(6); // our forms today; a new page's form is walked without changing this test
    console.info(`[${engine}] dashboard routes walked:\n  ${walked.join('\n  ')}`);
  });

  it('says who, what, target and outcome: a denied pause, a real pause and resume, a cancel of a job', async () => {
    const t = await setup({ engine });
    const denied = await t.api('POST', '/v1/queues/email/pause', undefined, {
      key: t.keys.noopOnly,
      headers: { 'x-request-id': 'deny-1' },
    });
    expect(denied.status).toBe(403);
    expect(await auditOf(t, 'deny-1')).toEqual([
      expect.objectContaining({ actor: 'noop-only', action: 'queue.pause', target: 'queue:email', outcome: 'denied', status: 403 }),
    ]);
    expect((await t.api('POST', '/v1/queues/email/pause', undefined, { headers: { 'x-request-id': 'pause-1' } })).status).toBe(200);
    expect((await t.engine.queueInfo(['email']))[0]?.paused).toBe(true);
    const job = (await t.api('POST', '/v1/jobs', { name: 'diagnostics.noop', data: {} })).body;
    expect((await t.api('DELETE', `/v1/jobs/${job.id}`)).status).toBe(200);
    const page = (await t.api('GET', '/v1/audit?limit=2')).body;
    expect(page.entries.map((e: AuditEntry) => [e.action, e.target, e.outcome])).toEqual([
      ['job.cancel', `job:${job.id}`, 'ok'],
      ['queue.pause', 'queue:email', 'ok'],
    ]);
    const older = (await t.api('GET', `/v1/audit?limit=2&cursor=${encodeURIComponent(page.next)}`)).body;
    expect(older.entries.map((e: AuditEntry) => e.requestId)).toEqual(['deny-1']);
    expect((await t.api('GET', '/v1/audit?action=queue.&outcome=denied')).body.entries).toHaveLength(1);
  });

  it('GET /v1/audit is for admins; a bad filter is a 400 naming it', async () => {
    const t = await setup({ engine });
    expect((await t.api('GET', '/v1/audit', undefined, { key: t.keys.noopOnly })).status).toBe(403);
    expect((await t.api('GET', '/v1/audit', undefined, { key: null })).status).toBe(401);
    for (const [q, field] of [
      ['since=yesterday', 'since'],
      ['cursor=abc', 'cursor'],
      ['limit=0', 'limit'],
      ['outcome=maybe', 'outcome'],
      ['color=red', ''],
    ]) {
      const res = await t.api('GET', `/v1/audit?${q}`);
      expect(res.status, q).toBe(400);
      if (field)
        expect(
          res.body.error.details.map((d: { path: string }) => d.path),
          q,
        ).toContain(field);
    }
  });

  it('the CLI goes through the API: its pause is recorded as via cli', async () => {
    const t = await setup({ engine });
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(process.execPath, [join(import.meta.dirname, '..', 'cli', 'conveyor.mjs'), 'pause', 'reports'], {
        env: { ...process.env, CONVEYOR_URL: t.baseUrl, CONVEYOR_API_KEY: t.keys.admin },
        stdio: 'ignore',
      });
      child.once('error', reject);
      child.once('close', resolve);
    });
    expect(code).toBe(0);
    const [e] = (await t.api('GET', '/v1/audit?action=queue.pause')).body.entries;
    expect(e).toMatchObject({ actor: 'admin', via: 'cli', target: 'queue:reports', outcome: 'ok' });
  });

  it('records dashboard mutations: sign-in (failed and good), pause, Bull Board calls, a viewer refused, sign-out', async () => {
    const t = await setup({ engine, ...(await dashboardOverrides()) });
    const op = new DashboardClient(t.baseUrl);
    expect((await op.login('operator', 'wrong')).status).toBe(401);
    expect((await op.login('operator', PASSWORDS.operator)).status).toBe(303);
    expect((await op.request('POST', '/admin/queues/email/pause', { form: { _csrf: op.csrf } })).status).toBe(303);
    const board = await op.request('PUT', '/admin/board/api/queues/email/resume', { headers: { 'x-xsrf-token': op.csrf } });
    expect(board.status).toBeLessThan(300);
    const viewer = new DashboardClient(t.baseUrl);
    await viewer.login('viewer', PASSWORDS.viewer);
    expect((await viewer.request('PUT', '/admin/board/api/queues/email/pause', { headers: { 'x-xsrf-token': viewer.csrf } })).status).toBe(
      403,
    );
    expect((await op.request('POST', '/admin/logout', { form: { _csrf: op.csrf } })).status).toBe(303);
    // anonymous posts are not recorded (anyone could fill the log)
    expect((await new DashboardClient(t.baseUrl).request('POST', '/admin/queues/email/pause', { form: {} })).status).toBe(401);

    const entries = ((await t.api('GET', '/v1/audit?via=dashboard')).body.entries as AuditEntry[]).reverse();
    expect(entries.map((e) => [e.actor, e.action, e.target, e.outcome])).toEqual([
      ['operator', 'session.sign-in', 'user:operator', 'denied'],
      ['operator', 'session.sign-in', 'user:operator', 'ok'],
      ['operator', 'queue.pause', 'queue:email', 'ok'],
      ['operator', 'queue.resume', 'queue:email', 'ok'],
      ['viewer', 'session.sign-in', 'user:viewer', 'ok'],
      ['viewer', 'queue.pause', 'queue:email', 'denied'],
      ['operator', 'session.sign-out', null, 'ok'],
    ]);
    expect(entries.every((e) => e.actorType === 'user' && e.requestId)).toBe(true);
    expect(entries[3]?.detail).toEqual({ path: '/board/api/queues/email/resume' });
    expect((await t.engine.queueInfo(['email']))[0]?.paused).toBe(false);
  });
});

describe('dashboard actions in the audit log’s words', () => {
  it('names our forms and every Bull Board call', () => {
    const cases: [string, string, string, string | null][] = [
      ['POST', '/queues/email/pause', 'queue.pause', 'queue:email'],
      ['POST', '/dead-letters/j%201/replay', 'dead-letter.replay', 'job:j 1'],
      ['POST', '/schedules/nightly/resume', 'schedule.resume', 'schedule:nightly'],
      ['PUT', '/board/api/queues/pause', 'queue.pause', 'queue:*'],
      ['PUT', '/board/api/queues/email/retry/failed', 'queue.retry', 'queue:email'],
      ['PUT', '/board/api/queues/email/clean/completed', 'queue.clean', 'queue:email'],
      ['PUT', '/board/api/queues/email/42/retry', 'job.retry', 'job:42'],
      ['PUT', '/board/api/queues/email/42/clean', 'job.clean', 'job:42'],
      ['PUT', '/board/api/queues/email/empty', 'queue.empty', 'queue:email'],
      ['POST', '/jobs/actions', 'jobs.bulk-action-review', null],
      ['POST', '/jobs/actions/confirm', 'jobs.bulk-action', null],
      ['POST', '/somewhere/new', 'dashboard.post', null],
    ];
    for (const [method, path, action, target] of cases) {
      expect(dashboardAction(method, path), path).toMatchObject({ action, target });
    }
  });
});
