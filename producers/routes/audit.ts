// GET /v1/audit: the audit log (core/audit.ts), newest first, filtered, a page at a time. Admin only.
import { z } from 'zod';
import { CURSOR } from '../../core/audit.ts';
import { ApiError } from '../../core/http/api-error.ts';
import { err, ok } from '../../core/http/openapi.ts';
import { isAdmin, principalOf } from '../../core/http/principal.ts';
import { type RouteTable, route } from '../../core/http/route.ts';
import type { Config } from '../../workers/config.ts';

const instant = z.iso.datetime({ offset: true, error: 'expects an ISO-8601 time, e.g. 2026-01-31T12:00:00Z' });

export const auditQuery = z.strictObject({
  actor: z.string().min(1).max(128).optional(),
  action: z
    .string()
    .regex(/^[a-z][\w.-]{0,63}$/, { error: 'expects an action like queue.pause, or a prefix ending in . (queue.)' })
    .optional(),
  target: z.string().min(1).max(300).optional(),
  outcome: z.enum(['ok', 'denied', 'failed']).optional(),
  via: z.enum(['api', 'cli', 'dashboard']).optional(),
  requestId: z.string().min(1).max(128).optional(),
  since: instant.optional(),
  until: instant.optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  cursor: z.string().regex(CURSOR, { error: 'expects the `next` of a previous page' }).optional(),
});
export type AuditQuery = z.infer<typeof auditQuery>;

/** The store's filter from a parsed query. */
export const auditFilterOf = ({ limit: _l, cursor: _c, since, until, ...rest }: AuditQuery) => ({
  ...rest,
  ...(since ? { since: Date.parse(since) } : {}),
  ...(until ? { until: Date.parse(until) } : {}),
});

export const auditRoutes: RouteTable<Config> = ({ backend }) => [
  route({
    method: 'get',
    path: '/v1/audit',
    auth: 'key',
    summary: 'The audit log: who changed what, when, with what outcome (admin)',
    description:
      'Every mutation through the API, the CLI and the dashboard (enqueue excluded), newest first. `action` ending in `.` matches a prefix. Pass `next` as `cursor` for the next page.',
    query: auditQuery,
    responses: {
      '200': ok('entries', {
        type: 'object',
        properties: { entries: { type: 'array', items: { type: 'object' } }, next: { type: ['string', 'null'] } },
      }),
      '400': err('bad query'),
      '403': err('needs admin'),
    },
    handle: async (req, res, input) => {
      const p = principalOf(req);
      if (!isAdmin(p)) throw new ApiError(403, 'forbidden', `key "${p.name}" may not read the audit log (needs admin)`);
      const q = input.query();
      res.json(await backend.audit.list(auditFilterOf(q), q.limit, q.cursor));
    },
  }),
];
