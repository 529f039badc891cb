// /v1/kinds: job kinds declared without code (HTTP-target kinds, docs/http-kinds.md). Admin only. The
// list shows every kind (built-in, KINDS_FILE, runtime); PUT/DELETE manage the runtime ones, kept in the
// engine's store and picked up by every replica within KINDS_RELOAD_MS (workers/declared-kinds.ts).
import type { Request } from 'express';
import { z } from 'zod';
import type { Backend } from '../../core/backend.ts';
import { ApiError } from '../../core/http/api-error.ts';
import { componentRef, err, ok } from '../../core/http/openapi.ts';
import { isAdmin, principalOf } from '../../core/http/principal.ts';
import { byParam, type RouteTable, route } from '../../core/http/route.ts';
import type { KindDefinition } from '../../core/kinds.ts';
import { Allowlist, storeEndpoints } from '../../core/outbound/index.ts';
import { kindRegistry } from '../../workers/catalog.ts';
import type { Config } from '../../workers/config.ts';
import { isFileKind, kindStore, refreshDeclaredKinds } from '../../workers/declared-kinds.ts';
import { checkDeclaration, type StoredKind } from '../../workers/http/declaration.ts';

const kindParam = z.strictObject({ name: z.string() });

function requireAdmin(req: Request) {
  const p = principalOf(req);
  if (!isAdmin(p)) throw new ApiError(403, 'forbidden', `key "${p.name}" may not manage job kinds (needs admin)`);
  return p;
}

/** One kind as GET /v1/kinds shows it. */
export function kindView(name: string, def: KindDefinition) {
  const source = def.http?.source ?? 'catalog';
  return {
    name,
    source,
    queue: def.queue,
    description: def.description,
    attempts: def.defaults.attempts,
    timeoutMs: def.defaults.timeoutMs,
    ...(def.defaults.retryForMs ? { retryForMs: def.defaults.retryForMs } : {}),
    priority: def.defaults.priority,
    ...(def.http
      ? { url: def.http.url, payload: def.http.schema, concurrency: def.http.concurrency, signingSecretEnv: def.http.signingSecretEnv }
      : {}),
  };
}

export const kindRoutes: RouteTable<Config> = ({ config, backend, logger }) => {
  let allowlist: Promise<Allowlist> | undefined;
  const targets = () => {
    allowlist ??= storeEndpoints(config).then((e) => new Allowlist(config.HTTP_TARGET_ALLOWLIST.entries).denyEndpoints(e));
    return allowlist;
  };
  const store = kindStore(backend);
  return [
    ...readRoutes(backend),
    route({
      method: 'put',
      path: '/v1/kinds/:name',
      auth: 'key',
      summary: 'Declare or replace an HTTP-target kind (runtime; every replica sees it within seconds)',
      params: kindParam,
      audit: { action: 'kind.put', target: byParam('kind', 'name') },
      json: true,
      body: componentRef('KindDeclaration'),
      responses: {
        '201': ok('declared'),
        '200': ok('replaced'),
        '400': err('invalid declaration or target not allowed; details name the field'),
        '403': err('needs admin'),
        '409': err('a built-in or KINDS_FILE kind has this name'),
      },
      handle: async (req, res) => {
        const p = requireAdmin(req);
        const name = String(req.params.name);
        if (kindRegistry.isBuiltIn(name)) throw new ApiError(409, 'conflict', `"${name}" is a built-in kind`);
        if (isFileKind(config, name)) throw new ApiError(409, 'conflict', `"${name}" is declared in KINDS_FILE; change it there`);
        const body = req.body && typeof req.body === 'object' && !Array.isArray(req.body) ? req.body : {};
        if (body.name !== undefined && body.name !== name) {
          throw new ApiError(400, 'invalid_request', 'the body names another kind', [
            { path: 'name', message: `expects "${name}" or nothing` },
          ]);
        }
        const checked = checkDeclaration({ ...body, name }, await targets());
        if (!checked.ok) throw new ApiError(400, 'invalid_request', 'invalid kind declaration', checked.details);
        const created = (await store.get(name)) === null;
        const record: StoredKind = { ...checked.decl, updatedAt: new Date().toISOString() };
        await store.put(record);
        await refreshDeclaredKinds(backend);
        logger.info({ kind: name, url: record.url, by: p.name, requestId: req.requestId }, created ? 'kind declared' : 'kind replaced');
        res.status(created ? 201 : 200).json(record);
      },
    }),
    route({
      method: 'delete',
      path: '/v1/kinds/:name',
      auth: 'key',
      summary: 'Remove a runtime-declared kind (queued jobs of it are dead-lettered when they run)',
      params: kindParam,
      audit: { action: 'kind.delete', target: byParam('kind', 'name') },
      responses: {
        '204': { description: 'removed' },
        '403': err('needs admin'),
        '404': err('no such runtime kind'),
        '409': err('built-in or KINDS_FILE'),
      },
      handle: async (req, res) => {
        const p = requireAdmin(req);
        const name = String(req.params.name);
        if (kindRegistry.isBuiltIn(name) || isFileKind(config, name)) {
          throw new ApiError(409, 'conflict', `"${name}" is not a runtime kind (built-in or KINDS_FILE)`);
        }
        if (!(await store.remove(name))) throw new ApiError(404, 'not_found', `no runtime job kind "${name}"`);
        await refreshDeclaredKinds(backend);
        logger.info({ kind: name, by: p.name, requestId: req.requestId }, 'kind removed');
        res.status(204).end();
      },
    }),
  ];
};

function readRoutes(backend: Backend) {
  return [
    route({
      method: 'get',
      path: '/v1/kinds',
      auth: 'key',
      summary: 'Every job kind: the catalog’s, KINDS_FILE’s and those declared at runtime',
      responses: { '200': ok('kinds'), '403': err('needs admin') },
      handle: async (req, res) => {
        requireAdmin(req);
        res.json({ kinds: Object.entries(kindRegistry.table).map(([n, d]) => kindView(n, d)) });
      },
    }),
    route({
      method: 'get',
      path: '/v1/kinds/:name',
      auth: 'key',
      summary: 'One job kind',
      params: kindParam,
      responses: { '200': ok('the kind'), '403': err('needs admin'), '404': err('no such kind') },
      handle: async (req, res) => {
        requireAdmin(req);
        const name = String(req.params.name);
        const def = kindRegistry.get(name) ?? (await storedDefinition(backend, name));
        if (!def) throw new ApiError(404, 'not_found', `no job kind "${name}"`);
        res.json(kindView(name, def));
      },
    }),
  ];
}

/** A stored kind this process has not loaded yet (read straight from the store). */
async function storedDefinition(backend: Backend, name: string): Promise<KindDefinition | undefined> {
  const { compileKind } = await import('../../workers/http/declaration.ts');
  const r = await kindStore(backend).get(name);
  if (!r) return undefined;
  const { updatedAt: _, ...decl } = r;
  return compileKind(decl, 'runtime');
}
