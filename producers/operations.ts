// The web process's operations surface, mounted by producers/app.ts before the API:
// HTTP request duration (route pattern labels) and the server span for every request, enqueue counts
// for POST /v1/jobs and /v1/jobs/bulk, and the GET /metrics route (Prometheus text; METRICS_TOKEN or a
// key with the `metrics` scope). Queue numbers are read from the store at scrape time.
import type express from 'express';
import type { Request } from 'express';
import { Gauge, Histogram, Registry } from 'prom-client';
import { groupGauges } from '../core/groups/metrics.ts';
import { ApiError } from '../core/http/api-error.ts';
import { err } from '../core/http/openapi.ts';
import { type AnyRoute, type RouteDeps, route } from '../core/http/route.ts';
import { jobMetrics, labelsOf, processRegistry } from '../core/metrics/job-metrics.ts';
import { metricsAuthorized } from '../core/metrics/metrics-auth.ts';
import { readScaling } from '../core/metrics/scaling-reader.ts';
import { httpSpanStart } from '../core/tracing.ts';
import { catalogView, queueNames } from '../workers/catalog.ts';
import type { ApiKeyConfig, Config } from '../workers/config.ts';

/** What the operations surface reads of the app's dependencies. */
type OperationsDeps = RouteDeps<Config> & { apiKeys: ApiKeyConfig[] };

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/** The matched route pattern (`/v1/jobs/:id`), never the raw path, so label values stay bounded. */
export function routeOf(req: Request): string {
  const path = (req.route as { path?: unknown } | undefined)?.path;
  if (path === undefined) return '(unmatched)';
  const pattern = String(path);
  // after an error leaves a router, express resets baseUrl: recover the /v1 mount from the URL
  const base = req.baseUrl || (req.originalUrl.startsWith('/v1/') ? '/v1' : '');
  return pattern.startsWith(`${base}/`) || pattern === base ? pattern : `${base}${pattern}`;
}

const label = labelsOf(catalogView);

function countEnqueued(status: number, body: unknown) {
  if (status >= 300 || !body || typeof body !== 'object') return;
  const jobs = Array.isArray((body as { jobs?: unknown }).jobs)
    ? ((body as { jobs: { name?: unknown; queue?: unknown; created?: boolean }[] }).jobs ?? [])
    : [{ ...(body as { name?: unknown; queue?: unknown }), created: status === 202 }];
  for (const j of jobs) {
    jobMetrics.enqueued.inc({
      kind: label.kind(j.name),
      queue: label.queue(j.queue),
      outcome: j.created === false ? 'existing' : 'created',
    });
  }
}

function storeGauges(registry: Registry) {
  const g = (name: string, help: string, labelNames: string[]) => new Gauge({ name, help, labelNames, registers: [registry] });
  return {
    queueJobs: g('conveyor_queue_jobs', 'Jobs per queue and state (dead = in the dead-letter queue)', ['queue', 'state']),
    queueLatency: g('conveyor_queue_latency_seconds', 'Age of the oldest job ready to run (prioritized included); 0 when none waits', [
      'queue',
    ]),
    queuePaused: g('conveyor_queue_paused', '1 when the queue is paused', ['queue']),
    queueThroughput: g('conveyor_queue_throughput_per_second', 'Jobs finished per second over SCALING_WINDOW_SECONDS, all workers', [
      'queue',
    ]),
    recommended: g('conveyor_scaling_recommended_replicas', 'Replicas GET /v1/scaling recommends, per process type', ['process_type']),
    storeUp: g('conveyor_store_up', '1 when the queue store answered this scrape', []),
    groups: groupGauges(registry),
  };
}

/** Request metrics and spans for every request (mounted here, first); returns the GET /metrics route. */
export function mountOperations(app: express.Express, deps: OperationsDeps): AnyRoute[] {
  const registry = new Registry();
  const httpDuration = new Histogram({
    name: 'conveyor_http_request_duration_seconds',
    help: 'HTTP request duration by method, route pattern and status',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const gauges = storeGauges(registry);

  app.use((req, res, next) => {
    const started = process.hrtime.bigint();
    if (req.method === 'POST' && (req.path === '/v1/jobs' || req.path === '/v1/jobs/bulk')) {
      const json = res.json.bind(res);
      res.json = (body: unknown) => {
        countEnqueued(res.statusCode, body);
        return json(body);
      };
    }
    res.once('finish', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      httpDuration.observe(
        { method: METHODS.has(req.method) ? req.method : 'OTHER', route: routeOf(req), status: String(res.statusCode) },
        seconds,
      );
    });
    httpSpanStart(req, res, next, routeOf);
  });
  return [metricsRoute(deps, registry, gauges)];
}

function metricsRoute(deps: OperationsDeps, registry: Registry, gauges: ReturnType<typeof storeGauges>): AnyRoute {
  const { config, engine, apiKeys } = deps;
  const { queueJobs, queueLatency, queuePaused, queueThroughput, recommended, storeUp } = gauges;
  return route({
    method: 'get',
    path: '/metrics',
    auth: 'token',
    summary: 'Prometheus metrics (METRICS_TOKEN bearer or a key with the `metrics` scope)',
    responses: { '200': { description: 'Prometheus text' }, '401': err('no credentials') },
    handle: async (req, res) => {
      if (!metricsAuthorized(req.get('authorization'), config.METRICS_TOKEN, apiKeys)) {
        throw new ApiError(
          401,
          'unauthorized',
          'send METRICS_TOKEN or an API key with the `metrics` scope as `Authorization: Bearer …`',
          [],
          {
            'WWW-Authenticate': 'Bearer',
          },
        );
      }
      try {
        const { signal, queueInfo, finishedInWindow } = await readScaling({
          engine,
          throughput: deps.backend.throughput,
          config,
          catalog: catalogView,
          queues: queueNames,
        });
        queueJobs.reset();
        for (const q of queueInfo) {
          for (const [state, n] of Object.entries(q.counts)) queueJobs.set({ queue: q.name, state }, n);
          queueLatency.set({ queue: q.name }, q.oldestWaitingAgeSeconds);
          queuePaused.set({ queue: q.name }, q.paused ? 1 : 0);
          queueThroughput.set({ queue: q.name }, (finishedInWindow[q.name] ?? 0) / config.SCALING_WINDOW_SECONDS);
        }
        for (const [type, s] of Object.entries(signal.processTypes)) recommended.set({ process_type: type }, s.recommendedReplicas);
        await gauges.groups.update(deps.backend.groups, queueNames, config.GROUP_METRICS_TOP);
        storeUp.set(1);
      } catch (err) {
        deps.logger.warn({ err: (err as Error).message }, 'metrics: queue store unavailable; serving process metrics only');
        storeUp.set(0);
      }
      const merged = Registry.merge([processRegistry, registry]);
      res.set('Content-Type', merged.contentType).send(await merged.metrics());
    },
  });
}
