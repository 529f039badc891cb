// Bull Board's promote buttons and groups on both engines (dashboard/board-promote.ts, docs/groups.md): one job's
// promote of a grouped job waiting for its turn is refused (409 grouped_job) and the job keeps waiting for it;
// promote-all promotes the plain delayed jobs and leaves the grouped ones; both are in the audit log.
import { appRoutes } from '@bull-board/api/dist/routes.js';
import { expect, it } from 'vitest';
import { groupSettler } from '../core/groups/settle.ts';
import type { AuditEntry } from '../core/stores.ts';
import { promoteRoute } from '../dashboard/board-promote.ts';
import { DashboardClient, dashboardOverrides, PASSWORDS } from './dashboard-users.ts';
import { describeEngines } from './engines.ts';
import { setup, type TestPlatform, waitFor } from './helpers.ts';

const stateOf = async (t: TestPlatform, id: string) => (await t.api('GET', `/v1/jobs/${id}`)).body.state as string;
const groupOf = async (t: TestPlatform, group: string) => (await t.api('GET', `/v1/queues/default/groups/${group}`)).body;
const enqueue = async (t: TestPlatform, body: unknown) => {
  const r = await t.api('POST', '/v1/jobs', body);
  expect(r.status, JSON.stringify(r.body)).toBe(202);
  return r.body.id as string;
};
/** the ids Bull Board lists as delayed in queue default (a parked job is there: the park's delay) */
const boardDelayed = async (op: DashboardClient) => {
  const r = await op.request('GET', '/admin/board/api/queues?activeQueue=default&status=delayed&page=1&jobsPerPage=50');
  expect(r.status).toBe(200);
  const queue = (JSON.parse(r.text).queues as { name: string; jobs: { id: string }[] }[]).find((q) => q.name === 'default');
  return (queue?.jobs ?? []).map((j) => String(j.id));
};

it("Bull Board's promote routes are the two PUTs the board's handler takes", () => {
  const promotes = appRoutes.api.filter((r) => String(r.route).endsWith('/promote')).map((r) => [r.method, r.route]);
  expect(promotes.sort()).toEqual([
    ['put', '/api/queues/:queueName/:jobId/promote'],
    ['put', '/api/queues/:queueName/promote'],
  ]);
  expect(promoteRoute('/api/queues/default/promote')).toEqual({ queue: 'default', jobId: null });
  expect(promoteRoute('/API/Queues/default/a%2Fb/PROMOTE/')).toEqual({ queue: 'default', jobId: 'a/b' });
  expect(promoteRoute('/api/queues/default/42/retry')).toBeNull();
  expect(promoteRoute('/api/queues/promote')).toBeNull();
});

describeEngines('groups: Bull Board promote', { timeout: 60_000 }, (engine) => {
  it('refuses to promote a grouped job waiting for its turn; promote-all promotes only the plain delayed job', async () => {
    const t = await setup({ engine, GROUP_CONCURRENCY: '1', ...(await dashboardOverrides()) });
    t.startWorker({ queues: { default: 4 }, settlers: [groupSettler(t.backend.groups)] });
    // group g at concurrency 1: one job running, one parked behind it, one parked until its own time
    const running = await enqueue(t, { name: 'diagnostics.sleep', data: { ms: 60_000 }, options: { group: 'g' } });
    await waitFor(async () => (await stateOf(t, running)) === 'active', { what: 'the first job of g runs', timeoutMs: 30_000 });
    const parked = await enqueue(t, { name: 'diagnostics.sleep', data: { ms: 10 }, options: { group: 'g' } });
    const later = await enqueue(t, { name: 'diagnostics.noop', data: {}, options: { group: 'g', delay: 600_000 } });
    const plain = await enqueue(t, { name: 'diagnostics.noop', data: {}, options: { delay: 600_000 } });
    expect(await groupOf(t, 'g')).toMatchObject({ waiting: 2, active: 1 });

    const op = new DashboardClient(t.baseUrl);
    expect((await op.login('operator', PASSWORDS.operator)).status).toBe(303);
    const put = (path: string) =>
      op.request('PUT', `/admin/board/api/queues/default/${path}`, { json: {}, headers: { 'x-xsrf-token': op.csrf } });
    expect((await boardDelayed(op)).sort()).toEqual([parked, later, plain].sort());

    for (const id of [parked, later]) {
      const one = await put(`${id}/promote`);
      expect(one.status, one.text).toBe(409);
      const { error, message } = JSON.parse(one.text);
      // our error body, plus what Bull Board's UI toasts: error.key as the title, message under it
      expect(error).toMatchObject({ code: 'grouped_job', key: 'grouped_job', details: [{ path: 'options.group' }] });
      expect(message).toBe(error.message);
      expect(error.message).toContain(`job ${id} is in group "g" of queue default`);
      expect(error.message).toContain("waits for its group's turn");
      expect(error.message).toContain('PUT /v1/queues/default/groups/g');
      expect(error.requestId).toEqual(expect.any(String));
    }
    // both still parked: Bull Board lists them delayed (the park), the group counts them waiting
    expect((await boardDelayed(op)).sort()).toEqual([parked, later, plain].sort());
    expect(await groupOf(t, 'g')).toMatchObject({ waiting: 2, active: 1 });
    expect(await stateOf(t, parked)).toBe('waiting');

    const all = await put('promote');
    expect(all.status, all.text).toBe(200);
    expect(JSON.parse(all.text)).toMatchObject({ promoted: 1 });
    expect(JSON.parse(all.text).skipped).toBeGreaterThanOrEqual(1);
    await waitFor(async () => (await stateOf(t, plain)) === 'completed', { what: 'the promoted plain job ran', timeoutMs: 30_000 });
    expect((await boardDelayed(op)).sort()).toEqual([parked, later].sort());
    expect(await groupOf(t, 'g')).toMatchObject({ waiting: 2, active: 1 });
    expect(await stateOf(t, running)).toBe('active');

    // the parked job's turn comes when the running one leaves its slot; the later one keeps waiting for its time
    expect((await t.api('DELETE', `/v1/jobs/${running}`)).status).toBe(202); // running: cancelling
    await waitFor(async () => (await stateOf(t, parked)) === 'completed', { what: 'the parked job ran in its turn', timeoutMs: 30_000 });
    expect(await stateOf(t, later)).toBe('delayed');

    const entries = (await t.api('GET', '/v1/audit?via=dashboard&actor=operator')).body.entries as AuditEntry[];
    const promotes = entries.filter((e) => e.action.endsWith('.promote')).map((e) => [e.action, e.target, e.status]);
    expect(promotes.reverse()).toEqual([
      ['job.promote', `job:${parked}`, 409],
      ['job.promote', `job:${later}`, 409],
      ['queue.promote', 'queue:default', 200],
    ]);
  });
});
