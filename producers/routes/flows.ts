// /v1/flows: create a workflow (a DAG of jobs, all or nothing), read it, cancel what has not ended
// (core/flows/, docs/flows.md). A key may create a flow only of kinds it may enqueue, and read or cancel one
// only when it may use every kind in it.
import type { Request } from 'express';
import { z } from 'zod';
import { withStoreDeadline } from '../../core/errors/store-unavailable.ts';
import { flowBodySchema, flowJobSchema, MAX_FLOW_JOBS, planFlow } from '../../core/flows/plan.ts';
import { cancelFlow, type FlowDeps, flowEvents, readFlow, startFlow } from '../../core/flows/run.ts';
import { ApiError } from '../../core/http/api-error.ts';
import { withIdempotency } from '../../core/http/idempotent-route.ts';
import { err, ok } from '../../core/http/openapi.ts';
import { isAdmin, mayUseKind, principalOf } from '../../core/http/principal.ts';
import { byParam, type RouteTable, route } from '../../core/http/route.ts';
import { queueOfKind, toEnqueueRequest, type ValidJob, validateJob, validatePayload } from '../../workers/catalog.ts';
import type { Config } from '../../workers/config.ts';

const flowId = z.strictObject({ id: z.string() });
const FLOW_STATES = ['running', 'completed', 'failed', 'cancelled'];
const flowSchema = {
  type: 'object',
  required: ['id', 'state', 'jobs'],
  properties: {
    id: { type: 'string' },
    state: { enum: FLOW_STATES },
    jobs: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          key: { type: 'string' },
          id: { type: 'string' },
          name: { type: 'string' },
          state: { type: 'string', description: 'pending (parents not done), a job state, or completed / dead / cancelled' },
        },
      },
    },
  },
};

/** a retried create (same Idempotency-Key) answers the flow the first one made */
const keyed = { 'POST /v1/flows': 'the flow it made' };

const mayUse = (req: Request, kind: string) => mayUseKind(principalOf(req), kind, queueOfKind(kind));

export const flowRoutes: RouteTable<Config> = ({ engine, backend, config, logger }) => {
  const deps: FlowDeps = {
    store: withStoreDeadline(backend.flows, config.STORE_TIMEOUT_MS, 'flows'),
    engine,
    groups: backend.groups,
    onEvent: flowEvents(backend),
    validate: validatePayload,
  };
  /** the flow, or 404; 403 when the key may not use one of its kinds */
  const load = async (req: Request) => {
    const id = String(req.params.id);
    const flow = await readFlow(deps, id);
    if (!flow) throw new ApiError(404, 'not_found', `no flow "${id}"`);
    const p = principalOf(req);
    const denied = isAdmin(p) ? undefined : flow.jobs.find((j) => !mayUse(req, j.name));
    if (denied) throw new ApiError(403, 'forbidden', `key "${p.name}" may not see ${denied.name} jobs`);
    return flow;
  };

  const routes = [
    createRoute(config, deps),
    route({
      method: 'get',
      path: '/v1/flows/:id',
      auth: 'key',
      summary: 'A workflow: its state and each job’s',
      params: flowId,
      responses: {
        '200': ok('the flow', flowSchema),
        '403': err('the key may not see one of its kinds'),
        '404': err('no such flow (or it ended longer ago than flows are kept)'),
      },
      handle: async (req, res) => {
        res.json(await load(req));
      },
    }),
    route({
      method: 'delete',
      path: '/v1/flows/:id',
      auth: 'key',
      summary: 'Cancel a workflow: jobs not yet ended are cancelled (running ones have their AbortSignal fired)',
      params: flowId,
      audit: { action: 'flow.cancel', target: byParam('flow') },
      responses: {
        '200': ok('cancelled; the flow as it is now', flowSchema),
        '403': err('the key may not use one of its kinds'),
        '404': err('no such flow'),
        '409': err('the flow already ended'),
      },
      handle: async (req, res) => {
        const flow = await load(req);
        const r = await cancelFlow(deps, flow.id);
        if (r === null) throw new ApiError(404, 'not_found', `no flow "${flow.id}"`);
        if (r === 'ended') throw new ApiError(409, 'conflict', `flow already ${flow.state}`);
        res.json(r);
      },
    }),
  ];
  return withIdempotency({ backend, config, logger }, routes, keyed);
};

function createRoute(config: Config, deps: FlowDeps) {
  return route({
    method: 'post',
    path: '/v1/flows',
    auth: 'key',
    summary: `Create a workflow: up to ${MAX_FLOW_JOBS} jobs with dependsOn, all or nothing`,
    description:
      'Each job starts once every job it depends on completed, and sees their results (ctx.parents). onParentFailure says what a failed parent does to it: fail (default: cancelled, and the flow fails), skip, continue. docs/flows.md.',
    json: true,
    body: z.strictObject({ jobs: z.array(flowJobSchema).min(1).max(MAX_FLOW_JOBS) }),
    audit: { action: 'flow.create' },
    responses: {
      '202': ok('stored and its first jobs enqueued', {
        type: 'object',
        properties: {
          id: { type: 'string' },
          jobs: { type: 'array', items: { type: 'object', properties: { key: { type: 'string' }, id: { type: 'string' } } } },
        },
      }),
      '400': err(
        'a job is invalid, a key repeats, dependsOn names an unknown key or closes a cycle; details name each (jobs[1].dependsOn)',
      ),
      '403': err('the key may not enqueue one of the kinds'),
    },
    handle: async (req, res) => {
      const body = flowBodySchema.safeParse(req.body);
      if (!body.success) {
        throw new ApiError(
          400,
          'invalid_request',
          `send { "jobs": [ 1 to ${MAX_FLOW_JOBS} jobs ] }`,
          body.error.issues.map((i) => ({ path: i.path.join('.') || 'jobs', message: i.message })),
        );
      }
      const now = Date.now();
      const plan = planFlow(body.data.jobs, {
        validate: validateJob,
        mayEnqueue: (kind) => mayUse(req, kind),
        request: (job, jobId, flow) => toEnqueueRequest(job as ValidJob, config, { requestId: req.requestId, flow }, now, jobId),
        now,
      });
      if (!plan.ok) {
        throw new ApiError(
          plan.status,
          plan.status === 403 ? 'forbidden' : 'invalid_request',
          'no flow was created: fix the jobs named in details',
          plan.details,
        );
      }
      await startFlow(deps, plan.flow);
      res
        .status(202)
        .location(`/v1/flows/${plan.flow.id}`)
        .json({ id: plan.flow.id, jobs: plan.flow.jobs.map((j) => ({ key: j.key, id: j.id })) });
    },
  });
}
