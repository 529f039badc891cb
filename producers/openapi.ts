// OpenAPI 3.1 document generated from the catalog's zod schemas (JSON Schema 2020-12, which 3.1 uses).
import { z } from 'zod';
import { catalog, jobNames, queueNames } from '../workers/catalog.ts';
import type { Config } from '../workers/config.ts';
import { jobOptionsSchema } from './enqueue.ts';
import { extraPaths } from './openapi-extra.ts';

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: object, description: string) => ({ description, content: { 'application/json': { schema } } });
const err = (description: string) => json(ref('Error'), description);
const jsonSchema = (s: z.ZodType) => {
  const { $schema: _s, ...rest } = z.toJSONSchema(s, { target: 'draft-2020-12', io: 'input', unrepresentable: 'any' }) as Record<
    string,
    unknown
  >;
  return rest;
};
const schemaName = (kind: string) => `Payload_${kind.replace(/[^A-Za-z0-9]/g, '_')}`;

export function buildOpenApi(config: Pick<Config, 'BULK_MAX_JOBS' | 'MAX_BODY_BYTES'>) {
  const payloads = Object.fromEntries(
    jobNames.map((n) => [schemaName(n), { ...jsonSchema(catalog[n].payload), description: catalog[n].description }]),
  );
  const jobRequests = jobNames.map((n) => ({
    type: 'object',
    required: ['name', 'data'],
    additionalProperties: false,
    properties: { name: { const: n }, data: ref(schemaName(n)), options: ref('JobOptions') },
  }));
  const jobId = { name: 'id', in: 'path', required: true, schema: { type: 'string' } };
  const queueName = { name: 'name', in: 'path', required: true, schema: { enum: queueNames } };
  const common = { '401': err('missing or unknown API key'), '429': err('rate limited; see Retry-After') };

  return {
    openapi: '3.1.0',
    info: {
      title: 'Conveyor API',
      version: '1',
      description: `Enqueue and inspect background jobs. Bodies up to ${config.MAX_BODY_BYTES} bytes; every error is an Error object.`,
    },
    servers: [{ url: '/' }],
    security: [{ bearer: [] }],
    paths: {
      '/healthz': { get: { security: [], summary: 'Liveness', responses: { '200': json({ type: 'object' }, 'alive') } } },
      '/readyz': {
        get: {
          security: [],
          summary: 'Readiness: the queue store answers',
          responses: { '200': json({ type: 'object' }, 'ready'), '503': json({ type: 'object' }, 'a dependency is down') },
        },
      },
      '/v1/jobs': {
        post: {
          summary: 'Enqueue one job',
          requestBody: { required: true, content: { 'application/json': { schema: ref('JobRequest') } } },
          responses: {
            '202': json(ref('JobSummary'), 'enqueued'),
            '200': json(ref('JobSummary'), 'the idempotency key matched an existing job, which is returned'),
            '400': err('invalid payload or unknown job kind; details name each field'),
            '403': err('the key may not enqueue this job kind'),
            '413': err('body too large'),
            ...common,
          },
        },
      },
      '/v1/jobs/bulk': {
        post: {
          summary: `Enqueue up to ${config.BULK_MAX_JOBS} jobs, all or nothing`,
          requestBody: {
            required: true,
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  required: ['jobs'],
                  properties: { jobs: { type: 'array', minItems: 1, maxItems: config.BULK_MAX_JOBS, items: ref('JobRequest') } },
                },
              },
            },
          },
          responses: {
            '202': json({ type: 'object', properties: { jobs: { type: 'array', items: ref('JobSummary') } } }, 'all enqueued'),
            '400': err('at least one job is invalid (paths like jobs[3].data.to); none was enqueued'),
            '403': err('the key may not enqueue one of the job kinds'),
            '413': err('body too large'),
            ...common,
          },
        },
      },
      '/v1/jobs/{id}': {
        get: {
          summary: 'A job and its state',
          parameters: [jobId],
          responses: { '200': json(ref('Job'), 'the job'), '404': err('no such job'), ...common },
        },
        delete: {
          summary: 'Cancel a job: waiting/delayed are removed, an active one has its AbortSignal fired',
          parameters: [jobId],
          responses: {
            '200': json(ref('Job'), 'cancelled'),
            '202': json(ref('Job'), 'cancel sent to the running job'),
            '404': err('no such job'),
            '409': err('already finished'),
            ...common,
          },
        },
      },
      '/v1/queues': {
        get: {
          summary: 'Counts per state, oldest waiting age, paused',
          responses: {
            '200': json({ type: 'object', properties: { queues: { type: 'array', items: ref('Queue') } } }, 'queues'),
            ...common,
          },
        },
      },
      '/v1/queues/{name}/pause': {
        post: {
          summary: 'Pause a queue (workers stop fetching)',
          parameters: [queueName],
          responses: {
            '200': json(ref('Queue'), 'paused'),
            '403': err('needs admin or queue:<name>'),
            '404': err('no such queue'),
            ...common,
          },
        },
      },
      '/v1/queues/{name}/resume': {
        post: {
          summary: 'Resume a queue',
          parameters: [queueName],
          responses: {
            '200': json(ref('Queue'), 'resumed'),
            '403': err('needs admin or queue:<name>'),
            '404': err('no such queue'),
            ...common,
          },
        },
      },
      '/v1/dead-letters': {
        get: {
          summary: 'Dead letters, newest first',
          parameters: [
            { name: 'queue', in: 'query', schema: { enum: queueNames } },
            { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } },
          ],
          responses: {
            '200': json({ type: 'object', properties: { deadLetters: { type: 'array', items: ref('DeadLetter') } } }, 'dead letters'),
            '400': err('bad query'),
            ...common,
          },
        },
      },
      '/v1/dead-letters/{id}/replay': {
        post: {
          summary: 'Re-enqueue a dead job under its own id with fresh attempts',
          parameters: [jobId],
          responses: { '202': json(ref('JobSummary'), 'replayed'), '404': err('no such dead letter'), ...common },
        },
      },
      '/v1/openapi.json': { get: { summary: 'This document', responses: { '200': json({ type: 'object' }, 'OpenAPI 3.1'), ...common } } },
      ...extraPaths,
    },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'An API key from API_KEYS' } },
      schemas: {
        ...payloads,
        JobOptions: jsonSchema(jobOptionsSchema),
        JobRequest: { oneOf: jobRequests, discriminator: { propertyName: 'name' } },
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
      },
    },
  };
}
