// Groups through the API on both engines (docs/groups.md): options.group validation, the counts route, runtime
// overrides (pause, concurrency) and their permissions, bulk enqueue of grouped jobs, and the reaper freeing a
// slot whose job was cancelled while it held it.
import { expect, it } from 'vitest';
import { sweepQueue } from '../core/groups/sweeper.ts';
import { describeEngines } from './engines.ts';
import { setup, type TestPlatform, waitFor } from './helpers.ts';

const sleepJob = (group: string, ms = 10) => ({ name: 'diagnostics.sleep', data: { ms, tag: group }, options: { group } });

const stateOf = async (t: TestPlatform, id: string) => (await t.api('GET', `/v1/jobs/${id}`)).body.state as string;
const completed = (t: TestPlatform, ids: string[], what: string) =>
  waitFor(async () => (await Promise.all(ids.map((id) => stateOf(t, id)))).every((s) => s === 'completed'), { what, timeoutMs: 30_000 });
const groupOf = async (t: TestPlatform, group: string) =>
  (await t.api('GET', `/v1/queues/default/groups/${encodeURIComponent(group)}`)).body;

describeEngines('groups: API', { timeout: 60_000 }, (engine) => {
  it('options.group is validated: 400 naming options.group', async () => {
    const t = await setup({ engine });
    for (const group of ['', 'x'.repeat(129), 'bad\u0001name', 7]) {
      const r = await t.api('POST', '/v1/jobs', { name: 'diagnostics.noop', data: {}, options: { group } });
      expect(r.status).toBe(400);
      expect(r.body.error.details.map((d: { path: string }) => d.path)).toContain('options.group');
    }
    const deb = await t.api('POST', '/v1/jobs', {
      name: 'diagnostics.noop',
      data: {},
      options: { group: 'a', debounce: { key: 'k', ms: 500 } },
    });
    expect(deb.status).toBe(400);
    expect(deb.body.error.details.map((d: { path: string }) => d.path)).toContain('options.group');
    const ok = await t.api('POST', '/v1/jobs', { name: 'diagnostics.noop', data: {}, options: { group: 'tenant-ä 1' } });
    expect(ok.status).toBe(202);
    expect(ok.body.state).toBe('waiting');
  });

  it('pause parks a group; an override releases it; counts show waiting and active', async () => {
    const t = await setup({ engine, GROUP_CONCURRENCY: '1' });
    const paused = await t.api('PUT', '/v1/queues/default/groups/p', { paused: true });
    expect(paused.status).toBe(200);
    expect(paused.body).toMatchObject({ group: 'p', override: { paused: true }, limits: { concurrency: 1, paused: true } });
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await t.api('POST', '/v1/jobs', sleepJob('p'))).body.id);
    t.startWorker({ queues: { default: 4 } });
    // another group runs meanwhile: the worker is serving the queue
    const other = (await t.api('POST', '/v1/jobs', sleepJob('q'))).body.id;
    await completed(t, [other], 'the other group ran');
    expect(await groupOf(t, 'p')).toMatchObject({ waiting: 3, active: 0 });
    const list = (await t.api('GET', '/v1/queues/default/groups')).body;
    expect(list.defaults).toEqual({ concurrency: 1, ratePerSecond: 0 });
    expect(list.groups[0]).toMatchObject({ group: 'p', waiting: 3 });
    // parked, they read as asked for: waiting, no run time (not delayed by the park's five years)
    for (const id of ids) expect((await t.api('GET', `/v1/jobs/${id}`)).body).toMatchObject({ state: 'waiting', runAt: null });
    const before = Date.now();
    const later = (await t.api('POST', '/v1/jobs', { ...sleepJob('p'), options: { group: 'p', delay: 60_000 } })).body.id;
    const after = Date.now();
    const laterView = (await t.api('GET', `/v1/jobs/${later}`)).body;
    expect(laterView.state).toBe('delayed');
    expect(Date.parse(laterView.runAt)).toBeGreaterThanOrEqual(before + 60_000);
    expect(Date.parse(laterView.runAt)).toBeLessThanOrEqual(after + 60_000);

    const resumed = await t.api('PUT', '/v1/queues/default/groups/p', { paused: false, concurrency: 3 });
    expect(resumed.body.limits).toEqual({ concurrency: 3, ratePerSecond: 0, paused: false });
    await completed(t, ids, 'the resumed group ran');
    // released and run: no park time left in the view (BullMQ keeps a delayed job's run time after it ran)
    for (const id of ids) {
      const runAt = (await t.api('GET', `/v1/jobs/${id}`)).body.runAt as string | null;
      expect(runAt === null || Date.parse(runAt) < Date.now() + 60_000, String(runAt)).toBe(true);
    }
    expect(await groupOf(t, 'p')).toMatchObject({ waiting: 1, active: 0 }); // the delayed one, parked until its time

    expect((await t.api('DELETE', '/v1/queues/default/groups/p')).status).toBe(204);
    expect((await t.api('DELETE', '/v1/queues/default/groups/p')).status).toBe(404);
    expect((await groupOf(t, 'p')).override).toBeNull();
  });

  it('a cancelled parked job leaves its group at once: waiting drops, and a cancelled released one frees its slot', async () => {
    const t = await setup({ engine, GROUP_CONCURRENCY: '1' });
    expect((await t.api('PUT', '/v1/queues/default/groups/c', { paused: true })).status).toBe(200);
    const a = (await t.api('POST', '/v1/jobs', sleepJob('c'))).body.id;
    const b = (await t.api('POST', '/v1/jobs', sleepJob('c'))).body.id;
    expect(await groupOf(t, 'c')).toMatchObject({ waiting: 2, active: 0 });
    expect((await t.api('DELETE', `/v1/jobs/${a}`)).status).toBe(200);
    expect(await groupOf(t, 'c')).toMatchObject({ waiting: 1, active: 0 });
    // resumed without a worker: b is released into the queue and holds the group's one slot
    await t.api('PUT', '/v1/queues/default/groups/c', { paused: false });
    await waitFor(async () => (await groupOf(t, 'c')).active === 1, { what: 'b released', timeoutMs: 30_000 });
    const c = (await t.api('POST', '/v1/jobs', sleepJob('c'))).body.id;
    expect(await groupOf(t, 'c')).toMatchObject({ waiting: 1, active: 1 });
    // cancelling b frees its slot now (not after GROUP_REAP_AFTER_MS): c is released in its place
    expect((await t.api('DELETE', `/v1/jobs/${b}`)).status).toBe(200);
    await waitFor(async () => (await groupOf(t, 'c')).waiting === 0, { what: 'c released in b’s slot', timeoutMs: 5_000 });
    expect(await groupOf(t, 'c')).toMatchObject({ waiting: 0, active: 1 });
    expect((await t.api('GET', `/v1/jobs/${c}`)).body.state).toBe('waiting');
  });

  it('routes: 404 unknown queue, 400 naming the field, 403 without the queue scope', async () => {
    const t = await setup({ engine });
    expect((await t.api('GET', '/v1/queues/nope/groups')).status).toBe(404);
    const badGroup = await t.api('GET', '/v1/queues/default/groups/a%01b');
    expect(badGroup.status).toBe(400);
    expect(badGroup.body.error.details[0].path).toBe('group');
    for (const body of [{ concurrency: 0 }, { ratePerSecond: -1 }, { paused: 'yes' }, { extra: 1 }]) {
      const r = await t.api('PUT', '/v1/queues/default/groups/a', body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body.error.details.length).toBeGreaterThan(0);
    }
    expect((await t.api('PUT', '/v1/queues/default/groups/a', {})).status).toBe(400);
    expect((await t.api('GET', '/v1/queues/default/groups', undefined, { key: t.keys.noopOnly })).status).toBe(403);
    expect((await t.api('PUT', '/v1/queues/default/groups/a', { paused: true }, { key: t.keys.noopOnly })).status).toBe(403);
    expect((await t.api('GET', '/v1/queues/default/groups', undefined, { key: null })).status).toBe(401);
  });

  it('bulk: grouped jobs are parked and released like single ones', async () => {
    const t = await setup({ engine, GROUP_CONCURRENCY: '1' });
    const r = await t.api('POST', '/v1/jobs/bulk', {
      jobs: [sleepJob('b'), sleepJob('b'), sleepJob('c'), { name: 'diagnostics.noop', data: {} }],
    });
    expect(r.status).toBe(202);
    expect((await groupOf(t, 'b')).waiting + (await groupOf(t, 'b')).active).toBe(2);
    t.startWorker({ queues: { default: 4 } });
    await completed(
      t,
      r.body.jobs.map((j: { id: string }) => j.id),
      'bulk jobs ran',
    );
  });

  it('the reaper frees a slot whose job was cancelled while it held it', async () => {
    const t = await setup({ engine, GROUP_CONCURRENCY: '1' });
    const a = (await t.api('POST', '/v1/jobs', sleepJob('r'))).body.id;
    const b = (await t.api('POST', '/v1/jobs', sleepJob('r'))).body.id;
    expect(await groupOf(t, 'r')).toMatchObject({ waiting: 1, active: 1 });
    // cancelled past the API (Bull Board, or a web that died before it freed the slot): nobody ran a, so
    // nobody settled it, and its slot is held until the reaper looks
    expect((await t.engine.cancel(a)).outcome).toBe('cancelled');
    const repaired = await sweepQueue({ groups: t.backend.groups, engine: t.engine, reapAfterMs: 0 }, 'default');
    expect(repaired).toBe(1);
    expect(await groupOf(t, 'r')).toMatchObject({ waiting: 0, active: 1 });
    t.startWorker({ queues: { default: 2 } });
    await completed(t, [b], 'b ran after the repair');
  });

  it('metrics: the top GROUP_METRICS_TOP groups by name, the rest as group="other"', async () => {
    const token = 'groups-metrics-token-0123456789';
    const t = await setup({ engine, GROUP_CONCURRENCY: '1', GROUP_METRICS_TOP: '3', METRICS_TOKEN: token });
    for (let i = 0; i < 3; i++) await t.api('POST', '/v1/jobs', sleepJob('big'));
    for (let i = 0; i < 8; i++) await t.api('POST', '/v1/jobs', sleepJob(`g${i}`));
    const text = await (await fetch(`${t.baseUrl}/metrics`, { headers: { authorization: `Bearer ${token}` } })).text();
    const lines = text.split('\n').filter((l) => l.startsWith('conveyor_group_jobs{') && l.includes('queue="default"'));
    const names = new Set(lines.map((l) => /group="([^"]*)"/.exec(l)?.[1]));
    expect(names.size).toBe(4);
    expect(names).toContain('big');
    expect(names).toContain('other');
    expect(lines).toContain('conveyor_group_jobs{queue="default",group="big",state="waiting"} 2');
    expect(lines).toContain('conveyor_group_jobs{queue="default",group="other",state="active"} 6');
  });

  it("email.send is grouped by the recipient's domain, or the provider EMAIL_GROUP_PROVIDERS names", async () => {
    const t = await setup({ engine, EMAIL_GROUP_PROVIDERS: JSON.stringify({ 'googlemail.com': 'google', 'gmail.com': 'google' }) });
    const mail = (to: string | string[], options?: object) => ({
      name: 'email.send',
      data: { to, template: 'welcome', vars: { name: 'A', loginUrl: 'https://app.test/login' } },
      options,
    });
    for (const to of ['a@Example.COM', ['b@gmail.com', 'c@other.test'], 'd@googlemail.com']) {
      expect((await t.api('POST', '/v1/jobs', mail(to))).status).toBe(202);
    }
    expect((await t.api('POST', '/v1/jobs', mail('e@example.com', { group: 'tenant-7' }))).status).toBe(202);
    const groups = (await t.api('GET', '/v1/queues/email/groups')).body;
    expect(
      Object.fromEntries(groups.groups.map((g: { group: string; active: number; waiting: number }) => [g.group, g.waiting + g.active])),
    ).toEqual({
      'example.com': 1,
      google: 2,
      'tenant-7': 1,
    });
    expect(groups.defaults.concurrency).toBe(5);
  });
});
