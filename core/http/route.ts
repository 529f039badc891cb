// The route table: every HTTP route is declared once (method, path, who may call it, request schemas,
// response descriptions, handler). producers/app.ts mounts the tables on express and producers/openapi.ts
// documents the same tables (core/http/openapi.ts), so the API and GET /v1/openapi.json cannot drift.
//
// Request schemas are zod. `query` and `body` are parsed when the handler asks (`input.query()`), so a
// handler keeps its order of checks (e.g. 403 before a bad query's 400); a bad one is a 400
// `invalid_request` whose details name each field. `params` are documented; the handler checks them
// (an unknown id or queue is a 404, not a 400).
import type { Request, RequestHandler, Response, Router } from 'express';
import type { Logger } from 'pino';
import type { z } from 'zod';
import type { AuditLog } from '../audit.ts';
import type { Backend } from '../backend.ts';
import type { KernelConfig } from '../config/index.ts';
import type { Engine } from '../engine.ts';
import { issuesToDetails } from '../validation.ts';
import { ApiError } from './api-error.ts';
import { badString, jsonProblem } from './body-guard.ts';
import { REPLAYED_HEADER } from './idempotency.ts';

export type Method = 'get' | 'post' | 'put' | 'delete';

/**
 * - `key`: behind API-key authentication (and the JSON body parser);
 * - `public`: before it, no credential (or one in the URL itself, like a signed download link);
 * - `token`: before it; the handler checks a bearer token of its own (METRICS_TOKEN).
 */
export type Auth = 'key' | 'public' | 'token';

/**
 * What the audit log records for a call (core/audit.ts). Every route but a GET must say: an `action`
 * (with its `target`, from the request), or `exempt` with the reason it changes nothing worth recording
 * (enqueue: the job itself is the record). mountRoutes refuses a mutating route that says neither.
 */
export type AuditDecl =
  | {
      /** `queue.pause`, `schedule.put` …: `<what>.<verb>` */
      action: string;
      /** `queue:email`, `job:<id>` … (default: none) */
      target?: (req: Request) => string | null;
      /** small JSON extras for the entry */
      detail?: (req: Request) => Record<string, unknown> | undefined;
    }
  | { exempt: string };

/** `target` for a path parameter: `byParam('queue', 'name')` → `queue:<req.params.name>` */
export const byParam =
  (kind: string, param = 'id') =>
  (req: Request) =>
    `${kind}:${String(req.params[param])}`;

export interface ResponseDoc {
  description: string;
  /** JSON Schema of the body (docs only; often a `$ref` to a component) */
  schema?: object;
  /** default application/json when there is a schema */
  contentType?: string;
}

export interface RouteInput<Q, B> {
  /** the query parsed by the route's `query` schema (400 `bad query` when it does not match) */
  query(): Q;
  /** the body parsed by the route's `body` schema (400 `bad body`, or the route's `bodyError`) */
  body(): B;
}

export interface Route<Q = unknown, B = unknown> {
  method: Method;
  /** the full path in express syntax: `/v1/jobs/:id`, `/healthz` */
  path: string;
  auth: Auth;
  summary: string;
  description?: string;
  /** path parameters (documented; checked by the handler) */
  params?: z.ZodObject;
  query?: z.ZodType<Q>;
  /** request headers the route reads (documented; checked by the handler) */
  headers?: z.ZodObject;
  body?: z.ZodType<B>;
  /** the body must be application/json: 415 before the handler runs otherwise */
  json?: boolean;
  /** a body that does not match, as the route reports it (default: 400 `bad body`) */
  bodyError?: (issues: readonly z.core.$ZodIssue[]) => ApiError;
  responses: Record<string, ResponseDoc>;
  /** required for every method but GET: see AuditDecl */
  audit?: AuditDecl;
  handle(req: Request, res: Response, input: RouteInput<Q, B>): Promise<void> | void;
}

/** A route of any query and body types: what a table holds. */
export type AnyRoute = Route<any, any>;

/** Keeps a route's query and body types for its handler. */
export function route<Q = undefined, B = undefined>(r: Route<Q, B>): AnyRoute {
  return r;
}

/** What a table's routes may use: the web process's config, logger, backend and engine. */
export interface RouteDeps<C extends KernelConfig = KernelConfig> {
  config: C;
  logger: Logger;
  backend: Backend;
  /** backend.engine */
  engine: Engine;
}

/** A table of routes, built once per app from its dependencies. */
export type RouteTable<C extends KernelConfig = KernelConfig> = (deps: RouteDeps<C>) => AnyRoute[];

export function requireJson(req: Request) {
  if (!req.is(['application/json', 'application/*+json'])) {
    throw new ApiError(415, 'unsupported_media_type', 'send the body as application/json', [
      { path: 'Content-Type', message: 'expects application/json' },
    ]);
  }
}

function parse<T>(schema: z.ZodType<T>, input: unknown, where: string): T {
  const r = schema.safeParse(input ?? {});
  if (!r.success) throw new ApiError(400, 'invalid_request', `bad ${where}`, issuesToDetails(r.error.issues));
  return r.data;
}

function inputOf(r: AnyRoute, req: Request): RouteInput<unknown, unknown> {
  return {
    query: () => (r.query ? parse(r.query, req.query, 'query') : undefined),
    body: () => {
      if (!r.body) return undefined;
      if (!r.bodyError) return parse(r.body, req.body, 'body');
      const b = r.body.safeParse(req.body);
      if (!b.success) throw r.bodyError(b.error.issues);
      return b.data;
    },
  };
}

/** The CLI says who it is (cli/main.ts); everything else through the API is `api`. */
const viaOf = (req: Request) => (/^conveyor-cli\b/.test(req.get('user-agent') ?? '') ? 'cli' : 'api');

/**
 * Holds the response until the audit entry of this call is stored, whatever the outcome (a handler's
 * answer or the error handler's): the caller never sees an answer the log does not have.
 */
export function auditResponse(res: Response, write: (status: number) => Promise<unknown>) {
  const end = res.end.bind(res) as (...a: unknown[]) => Response;
  let done = false;
  res.end = ((...args: unknown[]) => {
    if (done) return end(...args);
    done = true;
    void write(res.statusCode).finally(() => end(...args));
    return res;
  }) as Response['end'];
}

/**
 * A path parameter or query value with a NUL or an unpaired surrogate names nothing (no body may store one,
 * and PostgreSQL refuses them in a query): 400 naming the parameter, before a handler sends it to a store.
 */
function checkParams(req: Request) {
  for (const [name, value] of Object.entries(req.params ?? {})) {
    if (typeof value === 'string' && badString(value)) {
      throw new ApiError(400, 'invalid_request', 'a path parameter holds what no id or name may', [
        { path: name, message: 'contains NUL or an unpaired UTF-16 surrogate' },
      ]);
    }
  }
  const query = jsonProblem(req.query ?? {});
  if (query) throw new ApiError(400, 'invalid_request', 'a query parameter holds what no value may', [query]);
}

export function handlerOf(r: AnyRoute, audit?: AuditLog): RequestHandler {
  const decl = r.audit && 'action' in r.audit ? r.audit : undefined;
  return async (req, res) => {
    if (decl && audit) {
      // read now: express drops req.params once an error leaves the route
      const target = decl.target?.(req) ?? null;
      const detail = decl.detail?.(req);
      auditResponse(res, (status) => {
        const p = req.principal;
        // an Idempotency-Key retry answered from its record did nothing: its entry says so, so the
        // action is not counted twice (core/http/idempotent-route.ts)
        const replayed = res.get(REPLAYED_HEADER) === 'true';
        const details = replayed ? { ...detail, replayed: true } : detail;
        return audit.record({
          actor: p?.name ?? 'anonymous',
          actorType: p ? 'key' : 'anonymous',
          via: viaOf(req),
          action: decl.action,
          target,
          requestId: req.requestId,
          status,
          ...(details ? { detail: details } : {}),
        });
      });
    }
    checkParams(req);
    if (r.json) requireJson(req);
    await r.handle(req, res, inputOf(r, req));
  };
}

export interface MountOptions {
  /** where declared actions are recorded; absent = not recorded (a router without a log, tests) */
  audit?: AuditLog;
}

/** Mounts `routes` on `router`, their paths taken relative to `base` (the router's mount point). */
export function mountRoutes(router: Router, routes: readonly AnyRoute[], base = '', opts: MountOptions = {}) {
  for (const r of routes) {
    const name = `route ${r.method.toUpperCase()} ${r.path}`;
    if (!r.path.startsWith(base)) throw new Error(`${name} is not under ${base}`);
    if (r.method !== 'get' && !r.audit) throw new Error(`${name} changes something: declare its audit action (or why it is exempt)`);
    router[r.method](r.path.slice(base.length) || '/', handlerOf(r, opts.audit));
  }
}
