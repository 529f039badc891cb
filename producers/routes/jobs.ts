// /v1/jobs: enqueue one, enqueue many (all or nothing), read one, cancel one.
import type { Request } from 'express';
import { z } from 'zod';
import { type Engine, FINAL_STATES, type JobView } from '../../core/engine.ts';
import type { JobOptions } from '../../core/enqueue.ts';
import { withStoreDeadline } from '../../core/errors/store-unavailable.ts';
import { afterCancel } from '../../core/groups/cancel.ts';
import { enqueueManyGrouped } from '../../core/groups/enqueue.ts';
import type { GroupStore } from '../../core/groups/types.ts';
import { ApiError } from '../../core/http/api-error.ts';
import { idempotencyHeaders, idempotencyKeyOf, withBulkIdempotencyKey, withIdempotencyKey } from '../../core/http/idempotency.ts';
import { componentRef, err, ok, ref } from '../../core/http/openapi.ts';
import { isAdmin, mayUseKind, principalOf } from '../../core/http/principal.ts';
import { byParam, type RouteTable, route } from '../../core/http/route.ts';
import { CANCELLABLE, cancelWithEvent, webhookEvents } from '../../core/outbound/events.ts';
import { targetsOf } from '../../core/outbound/index.ts';
import { enqueueUnique, type UniqueBackend } from '../../core/unique.ts';
import type { ErrorDetail } from '../../core/validation.ts';
import { queueOfKind, toEnqueueRequest, type ValidJob, validateJob } from '../../workers/catalog.ts';
import type { Config } from '../../workers/config.ts';
import { eventsRoute, MAX_WAIT_SECONDS, PushSlots, waitForJob, waitQuery } from './job-push.ts';

export const jobLink = (j: JobView) => ({ self: `/v1/jobs/${encodeURIComponent(j.id)}` });
export const summary = (j: JobView) => ({ id: j.id, name: j.name, queue: j.queue, state: j.state, links: jobLink(j) });
const full = (j: JobView) => ({ ...j, links: jobLink(j) });

const mayEnqueue = (p: ReturnType<typeof principalOf>, kind: string) => mayUseKind(p, kind, queueOfKind(kind));
const jobId = z.strictObject({ id: z.string() });

export const jobRoutes: RouteTable<Config> = ({ engine, backend, config, logger }) => {
  const loadJob = async (req: Request) => {
    const id = String(req.params.id);
    const job = await engine.getJob(id);
    if (!job) throw new ApiError(404, 'not_found', `no job "${id}"`);
    const principal = principalOf(req);
    if (!isAdmin(principal) && !mayEnqueue(principal, job.name)) {
      throw new ApiError(403, 'forbidden', `key "${principal.name}" may not see ${job.name} jobs`);
    }
    return job;
  };

  const slots = new PushSlots(config.PUSH_MAX_CONNECTIONS);
  return [
    // the route's engine is the web's deadline-bounded view of the store; the generations store gets the same bound
    enqueueRoute(config, {
      engine,
      generations: (name, opts) => withStoreDeadline(backend.generations(name, opts), config.STORE_TIMEOUT_MS, 'generations'),
      groups: withStoreDeadline(backend.groups, config.STORE_TIMEOUT_MS, 'groups'),
    }),
    bulkRoute(config, engine, withStoreDeadline(backend.groups, config.STORE_TIMEOUT_MS, 'groups')),
    route({
      method: 'get',
      path: '/v1/jobs/:id',
      auth: 'key',
      summary: 'A job and its state; with ?wait=<seconds>, answered as soon as it is final (long-poll)',
      description: `wait: 0 to ${MAX_WAIT_SECONDS} seconds; the answer comes when the job reaches a final state (completed, failed, dead, cancelled) or when the wait is over, with its state then.`,
      params: jobId,
      query: waitQuery,
      responses: {
        '200': ok('the job', ref('Job')),
        '400': err('bad wait (details name it)'),
        '403': err('the key may not see jobs of this kind'),
        '404': err('no such job'),
        '503': err('too many open waits here, or the store is unavailable; see Retry-After'),
      },
      handle: async (req, res, input) => {
        const job = await loadJob(req);
        const { wait } = input.query();
        if (!wait || FINAL_STATES.has(job.state)) {
          res.json(full(job));
          return;
        }
        res.json(full(await waitForJob(slots, req, res, wait, engine, () => loadJob(req))));
      },
    }),
    eventsRoute(config, slots, engine, loadJob, full),
    route({
      method: 'delete',
      path: '/v1/jobs/:id',
      auth: 'key',
      summary: 'Cancel a job: waiting/delayed are removed, an active one has its AbortSignal fired',
      params: jobId,
      audit: { action: 'job.cancel', target: byParam('job') },
      responses: {
        '200': ok('cancelled', ref('Job')),
        '202': ok('cancel sent to the running job', ref('Job')),
        '403': err('the key may not see jobs of this kind'),
        '404': err('no such job'),
        '409': err('already finished'),
      },
      handle: async (req, res) => {
        const job = await loadJob(req);
        // the job.cancelled deliveries are written before the cancel (intents checked at run time), so a
        // web that dies between the two loses no event (cancelWithEvent, docs/webhooks.md)
        const cancel = () => engine.cancel(job.id);
        const r = CANCELLABLE.has(job.state) ? await cancelWithEvent(webhookEvents(backend, config), job, cancel) : await cancel();
        switch (r.outcome) {
          case 'not_found':
            throw new ApiError(404, 'not_found', `no job "${req.params.id}"`);
          case 'finished':
            throw new ApiError(409, 'conflict', `job already ${r.job.state}; only waiting, delayed or active jobs can be cancelled`);
          case 'cancelling':
            res.status(202).json({ ...full(r.job), cancelRequested: true });
            return;
          case 'cancelled':
            await afterCancel(backend.groups, job, logger);
            res.json(full(r.job));
        }
      },
    }),
  ];
};

function enqueueRoute(config: Config, backend: UniqueBackend) {
  return route({
    method: 'post',
    path: '/v1/jobs',
    headers: idempotencyHeaders,
    auth: 'key',
    summary: 'Enqueue one job',
    json: true,
    body: componentRef('JobRequest'),
    audit: { exempt: 'enqueue: the job itself is the record (its requestId is kept with it)' },
    responses: {
      '202': ok('enqueued', ref('JobSummary')),
      '200': ok(
        'the idempotency key, singleton key or throttle window matched an existing job, which is returned (docs/uniqueness.md)',
        ref('JobSummary'),
      ),
      '400': err('invalid payload or unknown job kind; details name each field'),
      '403': err('the key may not enqueue this job kind'),
      '409': err(
        'idempotency_key_used: the key made a job within IDEMPOTENCY_TTL_SECONDS that is no longer retained (BullMQ count retention); nothing enqueued',
      ),
    },
    handle: async (req, res) => {
      const principal = principalOf(req);
      const v = validateJob(withIdempotencyKey(req.body, idempotencyKeyOf(req)));
      if (!v.ok) throw new ApiError(400, 'invalid_request', 'the job request is invalid', v.details);
      if (!mayEnqueue(principal, v.job.name)) {
        throw new ApiError(403, 'forbidden', `key "${principal.name}" may not enqueue ${v.job.name}`, [
          { path: 'name', message: 'not in this key’s scopes' },
        ]);
      }
      const bad = await callbackProblem(config, v.job.options, 'options.callback.url');
      if (bad) throw new ApiError(400, 'invalid_request', 'the callback URL is not allowed', [bad]);
      const { job, created } = await enqueueUnique(backend, toEnqueueRequest(v.job, config, { requestId: req.requestId }), v.job.options);
      res
        .status(created ? 202 : 200)
        .location(jobLink(job).self)
        .json(summary(job));
    },
  });
}

function bulkRoute(config: Config, engine: Engine, groups: GroupStore) {
  return route({
    method: 'post',
    path: '/v1/jobs/bulk',
    headers: idempotencyHeaders,
    auth: 'key',
    summary: `Enqueue up to ${config.BULK_MAX_JOBS} jobs, all or nothing`,
    json: true,
    body: z.strictObject({ jobs: z.array(componentRef('JobRequest')).min(1).max(config.BULK_MAX_JOBS) }),
    audit: { exempt: 'enqueue: the jobs themselves are the record (their requestId is kept with them)' },
    bodyError: (issues) =>
      new ApiError(
        400,
        'invalid_request',
        `send { "jobs": [ 1 to ${config.BULK_MAX_JOBS} jobs ] }`,
        issues.map((i) => ({ path: i.path.join('.') || 'jobs', message: i.message })),
      ),
    responses: {
      '202': ok('all enqueued', { type: 'object', properties: { jobs: { type: 'array', items: ref('JobSummary') } } }),
      '400': err('at least one job is invalid (paths like jobs[3].data.to); none was enqueued'),
      '403': err('the key may not enqueue one of the job kinds'),
      '409': err(
        'idempotency_key_used: a key made a job within IDEMPOTENCY_TTL_SECONDS that is no longer retained (BullMQ count retention); nothing enqueued',
      ),
    },
    handle: async (req, res, input) => {
      const principal = principalOf(req);
      const jobs = withBulkIdempotencyKey(input.body().jobs, idempotencyKeyOf(req));
      const details: ErrorDetail[] = [];
      const valid: ValidJob[] = [];
      for (const [i, item] of jobs.entries()) {
        const v = validateJob(item, `jobs[${i}]`);
        if (!v.ok) details.push(...v.details);
        else if (uniqueOption(v.job.options))
          details.push({
            path: `jobs[${i}].options.${uniqueOption(v.job.options)}`,
            message: 'not accepted in bulk (docs/uniqueness.md): enqueue such a job on its own',
          });
        else if (!mayEnqueue(principal, v.job.name))
          details.push({ path: `jobs[${i}].name`, message: `key "${principal.name}" may not enqueue ${v.job.name}` });
        else {
          const bad = await callbackProblem(config, v.job.options, `jobs[${i}].options.callback.url`);
          if (bad) details.push(bad);
          else valid.push(v.job);
        }
      }
      if (details.length > 0) {
        const forbidden = details.every((d) => d.message.includes('may not enqueue'));
        throw new ApiError(
          forbidden ? 403 : 400,
          forbidden ? 'forbidden' : 'invalid_request',
          'no job was enqueued: fix the jobs named in details',
          details.slice(0, 100),
        );
      }
      const now = Date.now();
      const reqs = valid.map((j) => toEnqueueRequest(j, config, { requestId: req.requestId }, now));
      // grouped jobs are created parked and released by their groups' limits (docs/groups.md)
      const results = await enqueueManyGrouped(groups, (r) => engine.enqueueMany(r), reqs);
      res.status(202).json({ jobs: results.map((r) => ({ ...summary(r.job), created: r.created })) });
    },
  });
}

/** options.callback.url outside HTTP_TARGET_ALLOWLIST (or at a store of the platform's): the detail, else undefined */
async function callbackProblem(config: Config, o: JobOptions, path: string): Promise<ErrorDetail | undefined> {
  if (!o.callback) return undefined;
  const why = (await targetsOf(config)).checkUrl(o.callback.url);
  return why ? { path, message: why } : undefined;
}

/** the uniqueness option a job carries (docs/uniqueness.md), refused in bulk */
const uniqueOption = (o: JobOptions) => (['singletonKey', 'throttle', 'debounce'] as const).find((k) => o[k] !== undefined);
