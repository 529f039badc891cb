// Per-group gauges with bounded cardinality (docs/groups.md): per queue the GROUP_METRICS_TOP groups with the
// most jobs by name, the rest summed under group="other". Read from the group store at each scrape.
import { Gauge, type Registry } from 'prom-client';
import type { GroupCounts, GroupStore } from './types.ts';

export const OTHER_GROUP = 'other';

/** The `top` groups with the most jobs (waiting + active), then one `other` row for the rest (if any). */
export function topGroups(counts: GroupCounts[], top: number): GroupCounts[] {
  const sorted = [...counts].sort((a, b) => b.waiting + b.active - (a.waiting + a.active) || a.group.localeCompare(b.group));
  const named = sorted.slice(0, top);
  const rest = sorted.slice(top);
  if (rest.length === 0) return named;
  return [
    ...named,
    {
      group: OTHER_GROUP,
      waiting: rest.reduce((n, c) => n + c.waiting, 0),
      active: rest.reduce((n, c) => n + c.active, 0),
      oldestWaitingAgeSeconds: Math.max(...rest.map((c) => c.oldestWaitingAgeSeconds)),
    },
  ];
}

export function groupGauges(registry: Registry) {
  const jobs = new Gauge({
    name: 'conveyor_group_jobs',
    help: `Jobs per group (state waiting: parked; active: released, holding a slot); top groups by name, the rest as group="${OTHER_GROUP}"`,
    labelNames: ['queue', 'group', 'state'],
    registers: [registry],
  });
  const age = new Gauge({
    name: 'conveyor_group_oldest_waiting_seconds',
    help: 'Age of the oldest ready parked job of a group (top groups, the rest as "other")',
    labelNames: ['queue', 'group'],
    registers: [registry],
  });
  return {
    async update(groups: GroupStore, queues: readonly string[], top: number) {
      const all = await Promise.all(queues.map(async (q) => [q, await groups.counts(q)] as const));
      jobs.reset();
      age.reset();
      for (const [queue, counts] of all) {
        for (const c of topGroups(counts, top)) {
          jobs.set({ queue, group: c.group, state: 'waiting' }, c.waiting);
          jobs.set({ queue, group: c.group, state: 'active' }, c.active);
          age.set({ queue, group: c.group }, c.oldestWaitingAgeSeconds);
        }
      }
    },
  };
}
