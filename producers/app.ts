// The HTTP producer API (express 5). JSON in and out; every error is
// `{ error: { code, message, details: [{ path, message }], requestId } }`. Every route comes from a route
// table (core/http/route.ts): the platform's (producers/routes/), the domains' (their manifests), and
// GET /metrics; GET /v1/openapi.json documents the same tables.
import { randomUUID } from 'node:crypto';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import { AuditLog } from '../core/audit.ts';
import type { Backend } from '../core/backend.ts';
import type { Engine } from '../core/engine.ts';
import { isStoreUnavailable, withStoreDeadline } from '../core/errors/store-unavailable.ts';
import { ApiError } from '../core/http/api-error.ts';
import { guardJsonBody } from '../core/http/body-guard.ts';
import { ok } from '../core/http/openapi.ts';
import { requestError } from '../core/http/request-errors.ts';
import { type AnyRoute, mountRoutes, route } from '../core/http/route.ts';
import { kindRegistry } from '../workers/catalog.ts';
import type { ApiKeyConfig, Config } from '../workers/config.ts';
import { routeTables } from '../workers/domains.ts';
import { authenticate } from './auth.ts';
import { buildOpenApi } from './openapi.ts';
import { mountOperations } from './operations.ts';
import { coreRouteTables } from './routes/index.ts';

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
const V1 = '/v1';

/** The app's routes: GET /metrics, the platform's tables, the domains' tables, and the document of them all. */
async function appRoutes(app: express.Express, deps: AppDeps): Promise<AnyRoute[]> {
  const operations = mountOperations(app, deps); // request metrics + spans first, for every request
  const tables = [...coreRouteTables, ...(await routeTables())];
  let document: unknown;
  let documented: readonly string[] | undefined;
  const openapi = route({
    method: 'get',
    path: '/v1/openapi.json',
    auth: 'key',
    summary: 'This document',
    responses: { '200': ok('OpenAPI 3.1') },
    handle: (_req, res) => {
      // kinds declared at runtime are documented too: rebuild when the list of kinds changed
      if (documented !== kindRegistry.names) {
        documented = kindRegistry.names;
        document = buildOpenApi(deps.config, routes);
      }
      res.json(document);
    },
  });
  const routes = [...operations, ...tables.flatMap((t) => t(deps)), openapi];
  return routes;
}

/** Seconds a 503 for an unreachable store asks the client to wait. */
export const STORE_RETRY_AFTER_SECONDS = 2;

export async function createApp(given: AppDeps): Promise<express.Express> {
  const { config, logger } = given;
  // every store call a route makes has a deadline: an unreachable or hanging store answers 503 fast
  const engine = withStoreDeadline(given.engine, config.STORE_TIMEOUT_MS, 'engine');
  const deps: AppDeps = { ...given, engine };
  const app = express();
  app.disable('x-powered-by');
  // who may set X-Forwarded-For/-Proto (client IP for rate limits, https for Secure cookies)
  app.set('trust proxy', config.TRUST_PROXY);
  app.set('query parser', 'simple');

  app.use((req, res, next) => {
    // no page of ours may be framed; browsers keep to https once they saw it (docs/security.md)
    res.set({ 'X-Frame-Options': 'DENY', 'X-Content-Type-Options': 'nosniff' });
    if (!res.get('Content-Security-Policy')) res.set('Content-Security-Policy', "frame-ancestors 'none'");
    if (req.secure && config.HSTS_MAX_AGE_SECONDS > 0) res.set('Strict-Transport-Security', `max-age=${config.HSTS_MAX_AGE_SECONDS}`);
    const given = req.get('x-request-id');
    req.requestId = given && REQUEST_ID.test(given) ? given : randomUUID();
    res.set('X-Request-Id', req.requestId);
    next();
  });

  const routes = await appRoutes(app, deps);
  const audit = new AuditLog(deps.backend.audit, { retentionDays: config.AUDIT_RETENTION_DAYS, logger });
  const under = (r: AnyRoute) => r.path.startsWith(`${V1}/`);
  const open = (r: AnyRoute) => r.auth !== 'key';
  mountRoutes(
    app,
    routes.filter((r) => !under(r)),
    '',
    { audit },
  ); // /healthz, /readyz, /metrics

  const api = express.Router();
  mountRoutes(
    api,
    routes.filter((r) => under(r) && open(r)),
    V1,
    { audit },
  ); // signed links: no API key
  api.use(
    authenticate(deps.apiKeys, {
      backend: deps.backend,
      defaultRps: config.API_RATE_LIMIT_RPS,
      // a quarter of the store deadline: a limit check that cannot answer lets the request on to its own store call
      deadlineMs: Math.max(50, Math.floor(config.STORE_TIMEOUT_MS / 4)),
      logger,
      failuresPerMinute: config.API_AUTH_FAILURES_PER_MINUTE,
    }),
  );
  api.use(express.json({ limit: config.MAX_BODY_BYTES, strict: true, type: ['application/json', 'application/*+json'] }), guardJsonBody);
  mountRoutes(
    api,
    routes.filter((r) => under(r) && !open(r)),
    V1,
    { audit },
  );
  api.use((req) => {
    throw new ApiError(404, 'not_found', `no route ${req.method} ${req.originalUrl}`);
  });

  app.use(V1, api);
  if (deps.dashboard) app.use('/admin', deps.dashboard);
  app.use((req) => {
    throw new ApiError(404, 'not_found', `no route ${req.method} ${req.originalUrl}`);
  });
  app.use(errorHandler(logger));
  return app;
}

function errorHandler(logger: Logger) {
  return (err: unknown, req: Request, res: Response, _next: NextFunction) => {
    let e = requestError(err);
    if (e) {
      // answered by the request's own shape (bad input, too large, …)
    } else if (isStoreUnavailable(err)) {
      logger.warn({ err: (err as Error).message, requestId: req.requestId, path: req.path }, 'queue store unavailable');
      e = new ApiError(
        503,
        'store_unavailable',
        'the queue store is unavailable or did not answer in time; retry later (with the same idempotency key a retry is always safe)',
        [],
        { 'Retry-After': String(STORE_RETRY_AFTER_SECONDS) },
      );
    } else {
      logger.error({ err, requestId: req.requestId, path: req.path }, 'unhandled error');
      e = new ApiError(500, 'internal', 'internal error; see the server log for this requestId');
    }
    if (res.headersSent) return;
    res
      .status(e.status)
      .set(e.headers)
      .json({ error: { code: e.code, message: e.message, details: e.details, requestId: req.requestId } });
  };
}
