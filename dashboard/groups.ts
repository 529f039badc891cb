// GET /admin/groups: per-group counts and limits of every queue with grouped jobs (docs/groups.md), the groups
// with the most jobs first (100 per queue). Read only: overrides are changed through PUT /v1/queues/:q/groups/:g.
// Group names come from API callers: everything goes through `html` (escaped).
import type { Router } from 'express';
import { type GroupStore, limitsOf } from '../core/groups/types.ts';
import { queueNames } from '../workers/catalog.ts';
import { requireRole } from './auth.ts';
import { html } from './html.ts';
import { layout } from './layout.ts';
import { age } from './pages.ts';

const PER_QUEUE = 100;

export function groupsPage(router: Router, groups: GroupStore) {
  router.get('/groups', requireRole('viewer'), async (req, res) => {
    const sections = await Promise.all(
      queueNames.map(async (queue) => {
        const [counts, overrides] = await Promise.all([groups.counts(queue), groups.overrides(queue)]);
        const names = [...new Set([...counts.map((c) => c.group), ...overrides.keys()])];
        if (names.length === 0) return html``;
        const byGroup = new Map(counts.map((c) => [c.group, c]));
        const rows = names
          .map((group) => ({ group, c: byGroup.get(group), l: limitsOf(groups.defaults(queue), overrides.get(group)) }))
          .sort((a, b) => (b.c?.waiting ?? 0) - (a.c?.waiting ?? 0) || (b.c?.active ?? 0) - (a.c?.active ?? 0))
          .slice(0, PER_QUEUE)
          .map(
            ({ group, c, l }) =>
              html`<tr><td>${group}</td><td>${c?.waiting ?? 0}</td><td>${c?.active ?? 0}</td><td>${age(c?.oldestWaitingAgeSeconds ?? 0)}</td>
<td>${l.concurrency}</td><td>${l.ratePerSecond || '–'}</td><td>${l.paused ? 'paused' : ''}${overrides.has(group) ? ' (override)' : ''}</td></tr>`,
          );
        const d = groups.defaults(queue);
        return html`<h2>${queue}</h2><p class="muted">${names.length} groups; defaults: concurrency ${d.concurrency}, rate ${d.ratePerSecond || 'none'}${names.length > PER_QUEUE ? html`; the ${PER_QUEUE} with the most jobs shown` : ''}.</p>
<table class="groups" data-queue="${queue}"><thead><tr><th>Group</th><th>Waiting</th><th>Active</th><th>Oldest waiting</th><th>Concurrency</th><th>Rate/s</th><th></th></tr></thead><tbody>${rows}</tbody></table>`;
      }),
    );
    const body = html`<p class="muted">Waiting: parked until the group has a free slot. Active: released (waiting for a worker, running, or between retries). Change limits with PUT /v1/queues/:queue/groups/:group (docs/groups.md).</p>${sections}`;
    res.type('html').send(layout('Groups', req.dashboardUser, body));
  });
}
