// OpenAPI 3.1 document: the paths from the route tables the app mounts (core/http/openapi.ts), the
// components from the catalog's zod schemas (JSON Schema 2020-12, which 3.1 uses).
import { jsonSchema, openApiPaths, ref } from '../core/http/openapi.ts';
import type { AnyRoute } from '../core/http/route.ts';
import type { KindDefinition } from '../core/kinds.ts';
import { kindRegistry, queueNames } from '../workers/catalog.ts';
import type { Config } from '../workers/config.ts';
import { kindBody } from '../workers/http/declaration.ts';
import { jobOptionsSchema } from './enqueue.ts';

const schemaName = (kind: string) => `Payload_${kind.replace(/[^A-Za-z0-9]/g, '_')}`;

/** Schemas the routes' responses refer to (`$ref`), beside the catalog's payloads. */
const viewSchemas = (jobNames: readonly string[]) => ({
  JobState: { enum: ['waiting', 'delayed', 'active', 'completed', 'failed', 'dead', 'cancelled'] },
  JobSummary: {
    type: 'object',
    required: ['id', 'name', 'queue', 'state', 'links'],
    properties: {
      id: { type: 'string' },
      name: { enum: jobNames },
      queue: { enum: queueNames },
      state: ref('JobState'),
      links: { type: 'object', properties: { self: { type: 'string' } } },
    },
  },
  Job: {
    type: 'object',
    properties: {
      id: { type: 'string' },
      name: { enum: jobNames },
      queue: { enum: queueNames },
      state: ref('JobState'),
      priority: { type: 'integer' },
      data: {},
      attempts: { type: 'object', properties: { made: { type: 'integer' }, max: { type: 'integer' } } },
      progress: {},
      result: {},
      error: { type: ['object', 'null'], properties: { message: { type: 'string' }, stack: { type: 'string' } } },
      createdAt: { type: 'string', format: 'date-time' },
      startedAt: { type: ['string', 'null'], format: 'date-time' },
      finishedAt: { type: ['string', 'null'], format: 'date-time' },
      runAt: { type: ['string', 'null'], format: 'date-time' },
      group: { type: 'string', description: 'options.group, when the job has one (its group limits when it runs)' },
    },
  },
  Queue: {
    type: 'object',
    properties: {
      name: { type: 'string' },
      paused: { type: 'boolean' },
      counts: { type: 'object', additionalProperties: { type: 'integer' } },
      oldestWaitingAgeSeconds: { type: 'number' },
    },
  },
  DeadLetter: {
    type: 'object',
    properties: {
      id: { type: 'string' },
      name: { type: 'string' },
      queue: { type: 'string' },
      data: {},
      reason: { type: 'string' },
      error: { type: 'object' },
      attempts: {
        type: 'array',
        items: { type: 'object', properties: { attempt: { type: 'integer' }, at: { type: 'string' }, error: { type: 'string' } } },
      },
      deadAt: { type: 'string', format: 'date-time' },
    },
  },
  Error: {
    type: 'object',
    required: ['error'],
    properties: {
      error: {
        type: 'object',
        required: ['code', 'message', 'details', 'requestId'],
        properties: {
          code: { type: 'string' },
          message: { type: 'string' },
          details: {
            type: 'array',
            items: { type: 'object', properties: { path: { type: 'string' }, message: { type: 'string' } } },
          },
          requestId: { type: 'string' },
        },
      },
    },
  },
});

export function buildOpenApi(config: Pick<Config, 'MAX_BODY_BYTES'>, routes: readonly AnyRoute[]) {
  const jobNames = kindRegistry.names;
  // a declared kind documents the JSON Schema it was declared with
  const payloadDoc = (d: KindDefinition) => (d.http ? d.http.schema : jsonSchema(d.payload));
  const payloads = Object.fromEntries(
    jobNames.map((n) => {
      const d = kindRegistry.get(n) as KindDefinition;
      return [schemaName(n), { ...payloadDoc(d), description: d.description }];
    }),
  );
  const jobRequests = jobNames.map((n) => ({
    type: 'object',
    required: ['name', 'data'],
    additionalProperties: false,
    properties: { name: { const: n }, data: ref(schemaName(n)), options: ref('JobOptions') },
  }));

  return {
    openapi: '3.1.0',
    info: {
      title: 'Conveyor API',
      version: '1',
      description: `Enqueue and inspect background jobs. Bodies up to ${config.MAX_BODY_BYTES} bytes; every error is an Error object.`,
    },
    servers: [{ url: '/' }],
    security: [{ bearer: [] }],
    paths: openApiPaths(routes),
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'An API key from API_KEYS' } },
      schemas: {
        ...payloads,
        JobOptions: jsonSchema(jobOptionsSchema),
        JobRequest: { oneOf: jobRequests, discriminator: { propertyName: 'name' } },
        KindDeclaration: jsonSchema(kindBody),
        ...viewSchemas(jobNames),
      },
    },
  };
}
