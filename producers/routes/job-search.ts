// GET /v1/jobs (search), POST /v1/jobs/actions (bulk actions by the same filter, dry run first),
// GET /v1/jobs/actions/:id (progress), POST /v1/jobs/actions/:id/resume. docs/job-search.md.
import type { Request } from 'express';
import { z } from 'zod';
import { BULK_ACTIONS, type BulkAction, BulkActions } from '../../core/bulk-actions.ts';
import { ApiError } from '../../core/http/api-error.ts';
import { withIdempotency } from '../../core/http/idempotent-route.ts';
import { err, ok, ref } from '../../core/http/openapi.ts';
import { mayManageQueue, mayUseKind, principalOf } from '../../core/http/principal.ts';
import { type AnyRoute, byParam, type RouteTable, route } from '../../core/http/route.ts';
import { JOB_STATES, narrow, parseFilter, parsePaging, SEARCH_MAX_LIMIT, type SearchScope } from '../../core/search.ts';
import { catalogView, queueOfKind } from '../../workers/catalog.ts';
import type { Config } from '../../workers/config.ts';
import { jobLink } from './jobs.ts';

const queueOf = (kind: string) => queueOfKind(kind) as string;

/** A key sees the jobs of kinds it may enqueue, and every job of a queue it manages. */
const seeScope = (req: Request): SearchScope => {
  const p = principalOf(req);
  return { queue: (q) => mayUseKind(p, '\0', q), kind: (k, q) => mayUseKind(p, k, q) };
};
/** Bulk actions need admin or `queue:<name>` for every queue they touch. */
const manageScope = (req: Request): SearchScope => {
  const p = principalOf(req);
  return { queue: (q) => mayManageQueue(p, q), kind: (_k, q) => mayManageQueue(p, q) };
};

const actionLink = (id: string) => ({ self: `/v1/jobs/actions/${encodeURIComponent(id)}` });
const view = (a: BulkAction) => {
  const { cursor: _c, ...rest } = a;
  return { ...rest, links: actionLink(a.id) };
};

const searchQuery = z.looseObject({
  kind: z.string().optional().describe('a job kind'),
  queue: z.string().optional(),
  state: z
    .string()
    .optional()
    .describe(`one or more of ${JOB_STATES.join(', ')} (comma separated or repeated)`),
  since: z.string().optional().describe('created at or after: ISO 8601 or ms since the epoch'),
  until: z.string().optional().describe('created before'),
  limit: z.string().optional().describe(`1 to ${SEARCH_MAX_LIMIT}, default 50`),
  cursor: z.string().optional().describe('`next` of the previous page'),
});

export const jobSearchRoutes: RouteTable<Config> = ({ backend, logger, config }) => {
  const bulk = new BulkActions(backend, logger.child({ component: 'bulk-actions' }));
  const loadAction = async (req: Request) => {
    const a = await bulk.get(String(req.params.id));
    if (a?.filter.queues.every((q) => mayManageQueue(principalOf(req), q))) return a;
    throw new ApiError(404, 'not_found', `no bulk action "${req.params.id}" this key may see`);
  };
  // a retried bulk action (same Idempotency-Key) answers the action the first one started, not a second one
  const keyed = { 'POST /v1/jobs/actions': 'the bulk action it started' };
  const routes: AnyRoute[] = [
    route({
      method: 'get',
      path: '/v1/jobs',
      auth: 'key',
      summary: 'Search jobs, newest first',
      description:
        '`data.<path>=<value>` matches a payload field exactly (a string, or the number / true / false / null it spells; an array field when any element matches); a value ending in `*` matches strings starting with what comes before it (`\\*` is a literal star). Scoped keys see only the kinds and queues they may use. Cost per engine: docs/job-search.md.',
      query: searchQuery,
      responses: {
        '200': ok('one page; `next` is the cursor of the next one (null at the end)', {
          type: 'object',
          properties: { jobs: { type: 'array', items: ref('Job') }, next: { type: ['string', 'null'] } },
        }),
        '400': err('a bad parameter, named in details'),
        '403': err('the key may not see that kind or queue'),
      },
      handle: async (req, res) => {
        const q = req.query as Record<string, unknown>;
        const filter = narrow(parseFilter(q, catalogView), catalogView, queueOf, seeScope(req));
        const page = await backend.jobReads.search({ ...filter, ...parsePaging(q) });
        res.json({ jobs: page.jobs.map((j) => ({ ...j, links: jobLink(j) })), next: page.next });
      },
    }),
    route({
      method: 'post',
      path: '/v1/jobs/actions',
      auth: 'key',
      summary: 'Act on every job a filter matches: retry, cancel, delete, replay or promote (dryRun: count them)',
      json: true,
      audit: {
        action: 'jobs.bulk-action',
        detail: (req) => {
          const b = (req.body ?? {}) as Record<string, unknown>;
          return { action: String(b.action ?? '').slice(0, 20), dryRun: b.dryRun === true };
        },
      },
      body: z.strictObject({
        filter: z.record(z.string(), z.unknown()).default({}),
        action: z.enum(BULK_ACTIONS),
        dryRun: z.boolean().default(false),
      }),
      responses: {
        '200': ok('dry run: how many jobs match'),
        '202': ok('started; follow links.self for progress'),
        '400': err('a bad filter field or action, named in details'),
        '403': err('needs admin or queue:<name> for every queue the filter touches'),
      },
      handle: async (req, res, input) => {
        const body = input.body();
        const filter = narrow(parseFilter(body.filter, catalogView, 'filter'), catalogView, queueOf, manageScope(req));
        if (body.dryRun) {
          res.json({ dryRun: true, action: body.action, matched: await bulk.count(filter), queues: filter.queues });
          return;
        }
        const a = await bulk.start(body.action, filter, principalOf(req).name, req.requestId);
        res.status(202).location(actionLink(a.id).self).json(view(a));
      },
    }),
    route({
      method: 'get',
      path: '/v1/jobs/actions/:id',
      auth: 'key',
      summary: 'Progress of a bulk action (running, done, or interrupted: resume it)',
      params: z.strictObject({ id: z.string() }),
      responses: { '200': ok('the action and its counts'), '404': err('no such action this key may see') },
      handle: async (req, res) => {
        res.json(view(await loadAction(req)));
      },
    }),
    route({
      method: 'post',
      path: '/v1/jobs/actions/:id/resume',
      auth: 'key',
      summary: 'Resume an interrupted bulk action from the last batch it saved',
      audit: { action: 'jobs.bulk-action-resume', target: byParam('bulk-action') },
      params: z.strictObject({ id: z.string() }),
      responses: { '202': ok('resumed'), '404': err('no such action'), '409': err('the action is not interrupted') },
      handle: async (req, res) => {
        const a = await loadAction(req);
        const r = await bulk.resume(a.id);
        if (!r) throw new ApiError(409, 'conflict', `bulk action ${a.id} is ${a.status}, not interrupted`);
        res.status(202).json(view(r));
      },
    }),
  ];
  return withIdempotency({ backend, config, logger }, routes, keyed);
};
