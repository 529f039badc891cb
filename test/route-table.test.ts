// The route table (core/http/route.ts): one declaration mounts the express route and documents it.
import type { AddressInfo } from 'node:net';
import express from 'express';
import { describe, expect, it, onTestFinished } from 'vitest';
import { z } from 'zod';
import { ApiError } from '../core/http/api-error.ts';
import { componentRef, err, ok, openApiPaths } from '../core/http/openapi.ts';
import { mountRoutes, route } from '../core/http/route.ts';

const widget = route({
  method: 'post',
  path: '/v1/widgets/:id',
  auth: 'key',
  summary: 'Make a widget',
  params: z.strictObject({ id: z.string() }),
  query: z.strictObject({ size: z.coerce.number().int().min(1).max(9).default(3) }),
  json: true,
  body: z.strictObject({ part: componentRef('Part') }),
  audit: { action: 'widget.make', target: (req) => `widget:${req.params.id}` },
  responses: { '201': ok('made'), '404': err('no such widget') },
  handle: (req, res, input) => {
    if (req.params.id === 'missing') throw new ApiError(404, 'not_found', 'no widget');
    res.status(201).json({ id: req.params.id, size: input.query().size, part: input.body().part });
  },
});

describe('route table', () => {
  it('documents a route from its declaration: path params, query, body (componentRef → $ref), responses', () => {
    const op = openApiPaths([widget])['/v1/widgets/{id}']?.post as any;
    expect(op.summary).toBe('Make a widget');
    expect(op.parameters).toEqual([
      { name: 'id', in: 'path', required: true, schema: { type: 'string' } },
      { name: 'size', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 9, default: 3 } },
    ]);
    expect(op.requestBody.content['application/json'].schema.properties.part).toEqual({ $ref: '#/components/schemas/Part' });
    expect(Object.keys(op.responses).sort()).toEqual(['201', '401', '404', '413', '415', '429']);
    expect(op.security).toBeUndefined();
    expect(openApiPaths([{ ...widget, auth: 'public' }])['/v1/widgets/{id}']?.post).toMatchObject({ security: [] });
  });

  it('serves the same route: 415 before the handler, parsed query and body, 400 naming the field', async () => {
    const app = express();
    const api = express.Router();
    api.use(express.json());
    mountRoutes(api, [widget], '/v1');
    app.use('/v1', api);
    app.use((e: ApiError, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
      res.status(e.status).json({ code: e.code, message: e.message, details: e.details });
    });
    const server = app.listen(0, '127.0.0.1');
    onTestFinished(() => new Promise<void>((r) => server.close(() => r())));
    await new Promise<void>((r) => server.once('listening', () => r()));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/widgets`;
    const post = (path: string, body: string, type = 'application/json') =>
      fetch(`${base}${path}`, { method: 'POST', body, headers: { 'content-type': type } });

    expect((await post('/a', '{}', 'text/plain')).status).toBe(415);
    const made = await post('/a?size=5', JSON.stringify({ part: 'x' }));
    expect(made.status).toBe(201);
    expect(await made.json()).toEqual({ id: 'a', size: 5, part: 'x' });
    const badQuery = await post('/a?size=0', JSON.stringify({ part: 'x' }));
    expect(await badQuery.json()).toMatchObject({ code: 'invalid_request', message: 'bad query', details: [{ path: 'size' }] });
    const badBody = await post('/a', JSON.stringify({ extra: 1 }));
    expect(await badBody.json()).toMatchObject({ code: 'invalid_request', message: 'bad body' });
    expect((await post('/missing', JSON.stringify({ part: 'x' }))).status).toBe(404);
  });

  it('refuses to mount a mutating route that declares no audit action (nor why it is exempt)', () => {
    const { audit: _a, ...undeclared } = widget;
    expect(() => mountRoutes(express.Router(), [undeclared], '/v1')).toThrow(
      /POST \/v1\/widgets\/:id changes something: declare its audit/,
    );
    expect(() => mountRoutes(express.Router(), [{ ...undeclared, audit: { exempt: 'a test' } }], '/v1')).not.toThrow();
    expect(() => mountRoutes(express.Router(), [{ ...undeclared, method: 'get' }], '/v1')).not.toThrow();
    expect(openApiPaths([widget])['/v1/widgets/{id}']?.post).toMatchObject({ 'x-audit': { action: 'widget.make' } });
  });
});
