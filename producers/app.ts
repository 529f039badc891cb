// The HTTP producer API (express 5). JSON in and out; every error is
// `{ error: { code, message, details: [{ path, message }], requestId } }`.
import { randomUUID } from 'node:crypto';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { Backend } from '../core/backend.ts';
import type { Engine, JobView } from '../core/engine.ts';
import { ApiError } from '../core/http/api-error.ts';
import { runReadiness } from '../core/readiness.ts';
import { type QueueName, queueNames } from '../workers/catalog.ts';
import type { ApiKeyConfig, Config } from '../workers/config.ts';
import { readinessChecks } from '../workers/domains.ts';
import { authenticate, isAdmin, mayManageQueue, mayUseKind, principalOf } from './auth.ts';
import { toEnqueueRequest, validateJob } from './enqueue.ts';
import { buildOpenApi } from './openapi.ts';
import { mountOperations } from './operations.ts';
import { publicRouteModules, routeModules } from './routes/index.ts';

export interface AppDeps {
  /** backend.engine */
  engine: Engine;
  /** the side stores (rate limits, schedules, throughput, caught mail …) */
  backend: Backend;
  config: Config;
  logger: Logger;
  apiKeys: ApiKeyConfig[];
  /** the /admin dashboard router (dashboard/index.ts createDashboard); absent = no dashboard */
  dashboard?: express.RequestHandler;
}

const REQUEST_ID = /^[\w.:-]{1,128}$/;

const jobLink = (j: JobView) => ({ self: `/v1/jobs/${encodeURIComponent(j.id)}` });
const summary = (j: JobView) => ({ id: j.id, name: j.name, queue: j.queue, state: j.state, links: jobLink(j) });
const full = (j: JobView) => ({ ...j, links: jobLink(j) });

function queueParam(req: Request): QueueName {
  const name = String(req.params.name);
  if (!(queueNames as string[]).includes(name)) {
    throw new ApiError(404, 'not_found', `no queue "${name}"`, [{ path: 'name', message: `known queues: ${queueNames.join(', ')}` }]);
  }
  return name as QueueName;
}

export function createApp(deps: AppDeps): express.Express {
  const { engine, config, logger } = deps;
  const app = express();
  app.disable('x-powered-by');
  // who may set X-Forwarded-For/-Proto (client IP for rate limits, https for Secure cookies)
  app.set('trust proxy', config.TRUST_PROXY);
  app.set('query parser', 'simple');

  app.use((req, res, next) => {
    const given = req.get('x-request-id');
    req.requestId = given && REQUEST_ID.test(given) ? given : randomUUID();
    res.set('X-Request-Id', req.requestId);
    next();
  });

  mountOperations(app, deps); // request metrics + spans, GET /metrics (core/metrics/http.ts)

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    const { ready, checks } = await runReadiness({ config, backend: deps.backend }, await readinessChecks());
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'unavailable', checks });
  });

  const api = express.Router();
  for (const mount of publicRouteModules) mount(api, deps); // signed links: no API key
  api.use(authenticate(deps.apiKeys, { backend: deps.backend, defaultRps: config.API_RATE_LIMIT_RPS }));
  api.use(express.json({ limit: config.MAX_BODY_BYTES, strict: true, type: ['application/json', 'application/*+json'] }));

  const openapi = buildOpenApi(config);
  api.get('/openapi.json', (_req, res) => {
    res.json(openapi);
  });

  api.post('/jobs', async (req, res) => {
    requireJson(req);
    const principal = principalOf(req);
    const v = validateJob(req.body);
    if (!v.ok) throw new ApiError(400, 'invalid_request', 'the job request is invalid', v.details);
    if (!mayUseKind(principal, v.job.name)) {
      throw new ApiError(403, 'forbidden', `key "${principal.name}" may not enqueue ${v.job.name}`, [
        { path: 'name', message: 'not in this key’s scopes' },
      ]);
    }
    const { job, created } = await engine.enqueue(toEnqueueRequest(v.job, config, { requestId: req.requestId }));
    res
      .status(created ? 202 : 200)
      .location(jobLink(job).self)
      .json(summary(job));
  });

  const bulkSchema = z.strictObject({ jobs: z.array(z.unknown()).min(1).max(config.BULK_MAX_JOBS) });
  api.post('/jobs/bulk', async (req, res) => {
    requireJson(req);
    const principal = principalOf(req);
    const body = bulkSchema.safeParse(req.body);
    if (!body.success) {
      throw new ApiError(
        400,
        'invalid_request',
        `send { "jobs": [ 1 to ${config.BULK_MAX_JOBS} jobs ] }`,
        body.error.issues.map((i) => ({ path: i.path.join('.') || 'jobs', message: i.message })),
      );
    }
    const details = [];
    const valid = [];
    for (const [i, item] of body.data.jobs.entries()) {
      const v = validateJob(item, `jobs[${i}]`);
      if (!v.ok) details.push(...v.details);
      else if (!mayUseKind(principal, v.job.name))
        details.push({ path: `jobs[${i}].name`, message: `key "${principal.name}" may not enqueue ${v.job.name}` });
      else valid.push(v.job);
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
    const results = await engine.enqueueMany(valid.map((j) => toEnqueueRequest(j, config, { requestId: req.requestId }, now)));
    res.status(202).json({ jobs: results.map((r) => ({ ...summary(r.job), created: r.created })) });
  });

  const loadJob = async (req: Request) => {
    const id = String(req.params.id);
    const job = await engine.getJob(id);
    if (!job) throw new ApiError(404, 'not_found', `no job "${id}"`);
    const principal = principalOf(req);
    if (!isAdmin(principal) && !mayUseKind(principal, job.name as never)) {
      throw new ApiError(403, 'forbidden', `key "${principal.name}" may not see ${job.name} jobs`);
    }
    return job;
  };

  api.get('/jobs/:id', async (req, res) => {
    res.json(full(await loadJob(req)));
  });

  api.delete('/jobs/:id', async (req, res) => {
    await loadJob(req);
    const r = await engine.cancel(String(req.params.id));
    switch (r.outcome) {
      case 'not_found':
        throw new ApiError(404, 'not_found', `no job "${req.params.id}"`);
      case 'finished':
        throw new ApiError(409, 'conflict', `job already ${r.job.state}; only waiting, delayed or active jobs can be cancelled`);
      case 'cancelling':
        res.status(202).json({ ...full(r.job), cancelRequested: true });
        return;
      case 'cancelled':
        res.json(full(r.job));
    }
  });

  api.get('/queues', async (_req, res) => {
    res.json({ engine: engine.kind, capabilities: engine.capabilities, queues: await engine.queueInfo(queueNames) });
  });

  for (const action of ['pause', 'resume'] as const) {
    api.post(`/queues/:name/${action}`, async (req, res) => {
      const queue = queueParam(req);
      const principal = principalOf(req);
      if (!mayManageQueue(principal, queue)) throw new ApiError(403, 'forbidden', `key "${principal.name}" may not ${action} ${queue}`);
      if (action === 'pause') await engine.pauseQueue(queue);
      else await engine.resumeQueue(queue);
      logger.info({ queue, by: principal.name, requestId: req.requestId }, `queue ${action}d`);
      const [info] = await engine.queueInfo([queue]);
      res.json(info);
    });
  }

  const dlqQuery = z.strictObject({
    queue: z.enum(queueNames as [string, ...string[]]).optional(),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
  });
  api.get('/dead-letters', async (req, res) => {
    const q = dlqQuery.safeParse(req.query);
    if (!q.success)
      throw new ApiError(
        400,
        'invalid_request',
        'bad query',
        q.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
      );
    const principal = principalOf(req);
    const allowed = (q.data.queue ? [q.data.queue] : queueNames).filter((n) => mayManageQueue(principal, n));
    if (q.data.queue && allowed.length === 0)
      throw new ApiError(403, 'forbidden', `key "${principal.name}" may not read ${q.data.queue} dead letters`);
    res.json({ deadLetters: await engine.listDeadLetters(allowed, q.data.limit) });
  });

  api.post('/dead-letters/:id/replay', async (req, res) => {
    const principal = principalOf(req);
    const allowed = queueNames.filter((n) => mayManageQueue(principal, n));
    const job = await engine.replayDeadLetter(String(req.params.id), allowed);
    if (!job) throw new ApiError(404, 'not_found', `no dead letter "${req.params.id}" in a queue this key manages`);
    logger.info({ jobId: job.id, by: principal.name, requestId: req.requestId }, 'dead letter replayed');
    res.status(202).json(summary(job));
  });

  for (const mount of routeModules) mount(api, deps);

  api.use((req) => {
    throw new ApiError(404, 'not_found', `no route ${req.method} ${req.originalUrl}`);
  });

  app.use('/v1', api);
  if (deps.dashboard) app.use('/admin', deps.dashboard);
  app.use((req) => {
    throw new ApiError(404, 'not_found', `no route ${req.method} ${req.originalUrl}`);
  });
  app.use(errorHandler(logger));
  return app;
}

function requireJson(req: Request) {
  if (!req.is(['application/json', 'application/*+json'])) {
    throw new ApiError(415, 'unsupported_media_type', 'send the body as application/json', [
      { path: 'Content-Type', message: 'expects application/json' },
    ]);
  }
}

function errorHandler(logger: Logger) {
  return (err: unknown, req: Request, res: Response, _next: NextFunction) => {
    let e: ApiError;
    if (err instanceof ApiError) e = err;
    else if ((err as { type?: string }).type === 'entity.too.large') {
      const limit = (err as { limit?: number }).limit;
      e = new ApiError(413, 'payload_too_large', `request body exceeds ${limit} bytes`, [
        { path: '(body)', message: `at most ${limit} bytes` },
      ]);
    } else if ((err as { type?: string }).type === 'entity.parse.failed') {
      e = new ApiError(400, 'invalid_json', 'the body is not valid JSON', [{ path: '(body)', message: (err as Error).message }]);
    } else if ((err as { type?: string }).type === 'encoding.unsupported' || (err as { type?: string }).type === 'charset.unsupported') {
      e = new ApiError(415, 'unsupported_media_type', (err as Error).message);
    } else {
      const unavailable = /ECONNREFUSED|Connection is closed|max retries|ETIMEDOUT|Stream isn't writeable/i.test(
        String((err as Error)?.message),
      );
      logger.error({ err, requestId: req.requestId, path: req.path }, unavailable ? 'queue store unavailable' : 'unhandled error');
      e = unavailable
        ? new ApiError(503, 'unavailable', 'the queue store is unavailable; nothing was enqueued, retry later', [], { 'Retry-After': '5' })
        : new ApiError(500, 'internal', 'internal error; see the server log for this requestId');
    }
    if (res.headersSent) return;
    res
      .status(e.status)
      .set(e.headers)
      .json({ error: { code: e.code, message: e.message, details: e.details, requestId: req.requestId } });
  };
}
