// OpenAPI 3.1 paths from route tables (core/http/route.ts): each route's zod schemas become JSON Schema
// 2020-12 (what 3.1 uses) for its parameters and body; its response descriptions are copied as given.
// A zod schema marked with componentRef() is documented as a `$ref` to that component.
import { z } from 'zod';
import type { AnyRoute, ResponseDoc } from './route.ts';

/** `#/components/schemas/<name>` */
export const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
/** a JSON response */
export const ok = (description: string, schema: object = { type: 'object' }): ResponseDoc => ({ description, schema });
/** an error response: the Error component */
export const err = (description: string): ResponseDoc => ({ description, schema: ref('Error') });

/** Accepts anything (its route or handler validates it) and is documented as component `name`. */
export const componentRef = (name: string) => z.unknown().meta({ componentRef: name });

/** JSON Schema (2020-12, input side) of a zod schema, componentRef() marks as `$ref`s. */
export function jsonSchema(s: z.ZodType): Record<string, unknown> {
  const { $schema: _s, ...rest } = z.toJSONSchema(s, {
    target: 'draft-2020-12',
    io: 'input',
    unrepresentable: 'any',
    override: (ctx) => {
      const name = z.globalRegistry.get(ctx.zodSchema)?.componentRef;
      if (typeof name !== 'string') return;
      for (const key of Object.keys(ctx.jsonSchema)) delete (ctx.jsonSchema as Record<string, unknown>)[key];
      Object.assign(ctx.jsonSchema, ref(name));
    },
  }) as Record<string, unknown>;
  return rest;
}

const common = { '401': err('missing or unknown API key'), '429': err('rate limited; see Retry-After') };
const jsonBody = { '413': err('body too large'), '415': err('the body is not application/json') };

function parameters(where: 'path' | 'query' | 'header', schema: z.ZodType | undefined) {
  if (!schema) return [];
  const s = jsonSchema(schema) as { properties?: Record<string, object>; required?: string[] };
  return Object.entries(s.properties ?? {}).map(([name, property]) => ({
    name,
    in: where,
    ...(where === 'path' || s.required?.includes(name) ? { required: true } : {}),
    schema: property,
  }));
}

function response({ description, schema, contentType }: ResponseDoc) {
  return schema ? { description, content: { [contentType ?? 'application/json']: { schema } } } : { description };
}

export function operationOf(r: AnyRoute) {
  const params = [...parameters('path', r.params), ...parameters('query', r.query), ...parameters('header', r.headers)];
  const responses = { ...(r.json ? jsonBody : {}), ...(r.auth === 'key' ? common : {}), ...r.responses };
  return {
    summary: r.summary,
    ...(r.description ? { description: r.description } : {}),
    // `token` routes take a bearer of their own: the document's bearer scheme still applies
    ...(r.auth === 'public' ? { security: [] } : {}),
    ...(params.length > 0 ? { parameters: params } : {}),
    // what the audit log records for a call (core/audit.ts), or why nothing
    ...(r.audit ? { 'x-audit': 'action' in r.audit ? { action: r.audit.action } : { exempt: r.audit.exempt } } : {}),
    ...(r.body ? { requestBody: { required: true, content: { 'application/json': { schema: jsonSchema(r.body) } } } } : {}),
    responses: Object.fromEntries(Object.entries(responses).map(([status, doc]) => [status, response(doc)])),
  };
}

/** `/v1/jobs/:id` → `/v1/jobs/{id}` */
export const openApiPath = (path: string) => path.replace(/:(\w+)/g, '{$1}');

/** The `paths` object of an OpenAPI document for `routes`. */
export function openApiPaths(routes: readonly AnyRoute[]): Record<string, Record<string, unknown>> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const path = openApiPath(r.path);
    paths[path] ??= {};
    const item = paths[path];
    if (item[r.method]) throw new Error(`two routes for ${r.method.toUpperCase()} ${r.path}`);
    item[r.method] = operationOf(r);
  }
  return paths;
}
