// OpenAPI entries for the routes that feature modules add (producers/routes/index.ts). Kept next to
// the core document so one place lists every route; keep it in step when a module adds a route.
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const ok = (description: string, schema: object = { type: 'object' }) => ({ description, content: { 'application/json': { schema } } });
const err = (description: string) => ok(description, ref('Error'));
const common = { '401': err('missing or unknown API key'), '403': err('the key lacks the scope'), '429': err('rate limited') };
const name = { name: 'name', in: 'path', required: true, schema: { type: 'string' } };
const id = { name: 'id', in: 'path', required: true, schema: { type: 'string' } };

const schedule = {
  type: 'object',
  required: ['cron', 'job'],
  properties: {
    cron: { type: 'string', description: 'cron expression; a leading seconds field is allowed' },
    timezone: { type: 'string', description: 'IANA timezone', default: 'UTC' },
    job: { type: 'object', required: ['name'], properties: { name: { type: 'string' }, data: {}, options: ref('JobOptions') } },
    misfire: { description: '`skip`, `once`, or `all` (with `max`)' },
    enabled: { type: 'boolean', default: true },
  },
};

export const extraPaths = {
  '/v1/schedules': {
    get: { summary: 'Schedules with next runs, last fired slot and last job state', responses: { '200': ok('schedules'), ...common } },
  },
  '/v1/schedules/{name}': {
    get: {
      summary: 'One schedule',
      parameters: [name],
      responses: { '200': ok('the schedule'), '404': err('no such schedule'), ...common },
    },
    put: {
      summary: 'Create or replace a runtime schedule (needs `admin`, or `schedules` plus the job kind)',
      parameters: [name],
      requestBody: { required: true, content: { 'application/json': { schema: schedule } } },
      responses: {
        '201': ok('created'),
        '200': ok('replaced'),
        '400': err('invalid cron, timezone, job kind or payload; details name the field'),
        ...common,
      },
    },
    delete: {
      summary: 'Remove a runtime schedule',
      parameters: [name],
      responses: { '204': { description: 'removed' }, '404': err('no such schedule'), '409': err('declared in code'), ...common },
    },
  },
  '/v1/schedules/{name}/run': {
    post: {
      summary: 'Enqueue the schedule’s job now',
      parameters: [name],
      responses: { '202': ok('enqueued'), '404': err('no such schedule'), ...common },
    },
  },
  '/v1/schedules/{name}/pause': {
    post: { summary: 'Pause a schedule', parameters: [name], responses: { '200': ok('paused'), ...common } },
  },
  '/v1/schedules/{name}/resume': {
    post: { summary: 'Resume a schedule (missed slots are skipped)', parameters: [name], responses: { '200': ok('resumed'), ...common } },
  },
  '/v1/reports/{id}/download': {
    get: {
      summary: 'Download a finished report: the signed, expiring link is the credential (no API key)',
      security: [],
      parameters: [
        id,
        { name: 'expires', in: 'query', required: true, schema: { type: 'integer' } },
        { name: 'sig', in: 'query', required: true, schema: { type: 'string' } },
      ],
      responses: {
        '200': { description: 'the file (text/csv or application/x-ndjson)' },
        '403': err('tampered or expired link'),
        '404': err('no such report'),
      },
    },
  },
  '/v1/reports/{id}/link': {
    post: {
      summary: 'A fresh signed link for a finished report',
      parameters: [id],
      responses: { '200': ok('the link'), '404': err('no such report'), ...common },
    },
  },
  '/v1/mail': {
    get: {
      summary: 'Mail caught by the development SMTP catcher (`admin` or `mail:read`)',
      responses: { '200': ok('caught messages'), ...common },
    },
  },
  '/v1/mail/{id}': {
    get: {
      summary: 'One caught message: HTML, text, headers',
      parameters: [id],
      responses: { '200': ok('the message'), '404': err('no such message'), ...common },
    },
  },
  '/v1/templates': { get: { summary: 'Email templates and their variables', responses: { '200': ok('templates'), ...common } } },
  '/v1/templates/{name}/preview': {
    get: {
      summary: 'Render a template with its sample vars (`?format=html|text`)',
      parameters: [name],
      responses: { '200': { description: 'the rendering' }, '404': err('no such template'), ...common },
    },
    post: {
      summary: 'Render a template with the vars in the body',
      parameters: [name],
      responses: { '200': { description: 'the rendering' }, '400': err('vars invalid'), ...common },
    },
  },
  '/v1/search/status': {
    get: { summary: 'Search indexing: configured?, queue counts, aliases being rebuilt', responses: { '200': ok('status'), ...common } },
  },
  '/v1/scaling': {
    get: {
      summary: 'Scaling signal per process type: latency, depth, throughput, recommended replicas',
      responses: { '200': ok('signal'), ...common },
    },
  },
  '/metrics': {
    get: {
      summary: 'Prometheus metrics (METRICS_TOKEN bearer or a key with the `metrics` scope)',
      responses: { '200': { description: 'Prometheus text' }, '401': err('no credentials') },
    },
  },
};
