// The dashboard's groups page (dashboard/groups.ts) on both engines: counts and limits per group, group names
// (caller input) escaped.
import { expect, it } from 'vitest';
import { DashboardClient, dashboardOverrides, PASSWORDS } from './dashboard-users.ts';
import { describeEngines } from './engines.ts';
import { setup } from './helpers.ts';

describeEngines('groups: dashboard', { timeout: 60_000 }, (engine) => {
  it('GET /admin/groups lists groups with counts and limits, names escaped', async () => {
    const t = await setup({ engine, GROUP_CONCURRENCY: '1', ...(await dashboardOverrides()) });
    const evil = '<img src=x onerror=alert(1)>';
    for (let i = 0; i < 3; i++) await t.api('POST', '/v1/jobs', { name: 'diagnostics.noop', data: {}, options: { group: evil } });
    await t.api('PUT', `/v1/queues/default/groups/${encodeURIComponent('"quoted"&')}`, { concurrency: 4, paused: true });
    const anon = new DashboardClient(t.baseUrl);
    expect((await anon.request('GET', '/admin/groups')).location).toMatch(/^\/admin\/login/);
    const viewer = new DashboardClient(t.baseUrl);
    await viewer.login('viewer', PASSWORDS.viewer);
    const page = await viewer.request('GET', '/admin/groups');
    expect(page.status).toBe(200);
    expect(page.text).not.toContain(evil);
    expect(page.text).toContain('&lt;img src=x onerror=alert(1)&gt;</td><td>2</td><td>1</td>');
    expect(page.text).toContain('&quot;quoted&quot;&amp;');
    expect(page.text).toContain('paused (override)');
  });
});
