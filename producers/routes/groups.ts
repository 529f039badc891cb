// /v1/queues/:name/groups: per-group counts and runtime overrides of a group's limits (docs/groups.md).
// Admin keys or the queue's own scope (queue:<name>), as pausing the queue.
import type { Request } from 'express';
import { z } from 'zod';
import { withStoreDeadline } from '../../core/errors/store-unavailable.ts';
import { groupOption } from '../../core/groups/option.ts';
import type { GroupCounts, GroupOverride, GroupStore } from '../../core/groups/types.ts';
import { limitsOf } from '../../core/groups/types.ts';
import { ApiError } from '../../core/http/api-error.ts';
import { err, ok } from '../../core/http/openapi.ts';
import { mayManageQueue, principalOf } from '../../core/http/principal.ts';
import { type RouteTable, route } from '../../core/http/route.ts';
import { type QueueName, queueNames } from '../../workers/catalog.ts';
import type { Config } from '../../workers/config.ts';

const params = z.strictObject({ name: z.enum(queueNames as [string, ...string[]]), group: z.string() });
const queueParams = z.strictObject({ name: z.enum(queueNames as [string, ...string[]]) });

export const overrideBody = z
  .strictObject({
    concurrency: z.int().min(1).max(100_000).optional().describe('jobs of this group released at once, every process together'),
    ratePerSecond: z.number().min(0).max(1_000_000).optional().describe('starts per second; 0 = no rate limit'),
    paused: z.boolean().optional().describe('true: every job of the group stays parked'),
  })
  .refine((b) => Object.keys(b).length > 0, { error: 'give concurrency, ratePerSecond or paused' });

const groupView = {
  type: 'object',
  properties: {
    queue: { type: 'string' },
    group: { type: 'string' },
    override: { type: ['object', 'null'] },
    limits: {
      type: 'object',
      properties: { concurrency: { type: 'integer' }, ratePerSecond: { type: 'number' }, paused: { type: 'boolean' } },
    },
    waiting: { type: 'integer' },
    active: { type: 'integer' },
    oldestWaitingAgeSeconds: { type: 'integer' },
  },
};

/** The queue (404 naming `name`) and the caller's right to manage it (403). */
function queueOf(req: Request): QueueName {
  const name = String(req.params.name);
  if (!(queueNames as string[]).includes(name)) {
    throw new ApiError(404, 'not_found', `no queue "${name}"`, [{ path: 'name', message: `known queues: ${queueNames.join(', ')}` }]);
  }
  const principal = principalOf(req);
  if (!mayManageQueue(principal, name)) throw new ApiError(403, 'forbidden', `key "${principal.name}" may not manage queue ${name}`);
  return name as QueueName;
}

/** The group of the path (400 naming `group` when it could not be one). */
function groupOf(req: Request): string {
  const parsed = groupOption.safeParse(String(req.params.group));
  if (!parsed.success || parsed.data === undefined) {
    throw new ApiError(400, 'invalid_request', 'bad group', [
      { path: 'group', message: parsed.error?.issues[0]?.message ?? 'expects a group name' },
    ]);
  }
  return parsed.data;
}

function view(groups: GroupStore, queue: string, group: string, override: GroupOverride | null, counts?: GroupCounts) {
  return {
    queue,
    group,
    override,
    limits: limitsOf(groups.defaults(queue), override),
    waiting: counts?.waiting ?? 0,
    active: counts?.active ?? 0,
    oldestWaitingAgeSeconds: counts?.oldestWaitingAgeSeconds ?? 0,
  };
}

type One = (queue: string, group: string) => Promise<ReturnType<typeof view>>;

export const groupRoutes: RouteTable<Config> = ({ backend, config }) => {
  const groups = withStoreDeadline(backend.groups, config.STORE_TIMEOUT_MS, 'groups');
  const one: One = async (queue, group) => {
    const [override, counts] = await Promise.all([groups.getOverride(queue, group), groups.counts(queue, [group])]);
    return view(groups, queue, group, override, counts[0]);
  };
  return [...readRoutes(groups, one), ...writeRoutes(groups, one)];
};

function readRoutes(groups: GroupStore, one: One) {
  return [
    route({
      method: 'get',
      path: '/v1/queues/:name/groups',
      auth: 'key',
      summary: 'Groups of a queue: waiting (parked), active (released), oldest waiting age, limits',
      description: 'Every group with jobs or an override, most waiting first, at most `limit`.',
      params: queueParams,
      query: z.strictObject({ limit: z.coerce.number().int().min(1).max(1000).default(100) }),
      responses: {
        '200': ok('the groups', {
          type: 'object',
          properties: {
            queue: { type: 'string' },
            defaults: { type: 'object' },
            total: { type: 'integer' },
            groups: { type: 'array', items: groupView },
          },
        }),
        '400': err('bad query'),
        '403': err('needs admin or queue:<name>'),
        '404': err('no such queue'),
      },
      handle: async (req, res, input) => {
        const queue = queueOf(req);
        const { limit } = input.query();
        const [counts, overrides] = await Promise.all([groups.counts(queue), groups.overrides(queue)]);
        const byGroup = new Map(counts.map((c) => [c.group, c]));
        const names = [...new Set([...byGroup.keys(), ...overrides.keys()])];
        const all = names.map((g) => view(groups, queue, g, overrides.get(g) ?? null, byGroup.get(g)));
        all.sort((a, b) => b.waiting - a.waiting || b.active - a.active || a.group.localeCompare(b.group));
        res.json({ queue, defaults: groups.defaults(queue), total: all.length, groups: all.slice(0, limit) });
      },
    }),
    route({
      method: 'get',
      path: '/v1/queues/:name/groups/:group',
      auth: 'key',
      summary: "A group's override, effective limits and counts",
      params,
      responses: {
        '200': ok('the group', groupView),
        '400': err('bad group'),
        '403': err('needs admin or queue:<name>'),
        '404': err('no such queue'),
      },
      handle: async (req, res) => {
        const queue = queueOf(req);
        res.json(await one(queue, groupOf(req)));
      },
    }),
  ];
}

function writeRoutes(groups: GroupStore, one: One) {
  const target = (req: Request) => `group:${String(req.params.name)}/${String(req.params.group)}`;
  return [
    route({
      method: 'put',
      path: '/v1/queues/:name/groups/:group',
      auth: 'key',
      summary: "Override a group's concurrency, rate or pause (fields left out keep the queue's defaults)",
      params,
      body: overrideBody,
      audit: { action: 'group.put', target, detail: (req) => req.body as Record<string, unknown> },
      responses: {
        '200': ok('the group with its new limits', groupView),
        '400': err('bad group or body (details name the field)'),
        '403': err('needs admin or queue:<name>'),
        '404': err('no such queue'),
      },
      handle: async (req, res, input) => {
        const queue = queueOf(req);
        const group = groupOf(req);
        await groups.putOverride(queue, group, input.body());
        await groups.fill(queue, group); // more room, or resumed: release what fits now
        res.json(await one(queue, group));
      },
    }),
    route({
      method: 'delete',
      path: '/v1/queues/:name/groups/:group',
      auth: 'key',
      summary: "Remove a group's override: it gets the queue's defaults again",
      params,
      audit: { action: 'group.delete', target },
      responses: {
        '204': { description: 'removed' },
        '400': err('bad group'),
        '403': err('needs admin or queue:<name>'),
        '404': err('no such queue, or the group has no override'),
      },
      handle: async (req, res) => {
        const queue = queueOf(req);
        const group = groupOf(req);
        if (!(await groups.removeOverride(queue, group))) {
          throw new ApiError(404, 'not_found', `group "${group}" of ${queue} has no override`, [{ path: 'group', message: 'no override' }]);
        }
        await groups.fill(queue, group);
        res.status(204).end();
      },
    }),
  ];
}
