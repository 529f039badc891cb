// What a worker process exposes: the job metrics hooks, the shared throughput counter (the backend's), and —
// when WORKER_METRICS_PORT is set — a small HTTP server with /healthz, /readyz and /metrics (same
// credentials as the web's /metrics). Under the supervisor, children serve no port: the supervisor's
// /metrics sums theirs, fetched over the IPC channel (prom-client's AggregatorRegistry), so one
// scrape target covers the machine whatever the child count.
import type { ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { Logger } from 'pino';
import { AggregatorRegistry, type MetricObjectWithValues, type MetricValue } from 'prom-client';
import type { Backend } from '../backend.ts';
import type { ApiKeyConfig, KernelConfig } from '../config/index.ts';
import type { RuntimeHooks } from '../handler.ts';
import type { CatalogView } from '../kinds.ts';
import { type ReadinessCheck, runReadiness } from '../readiness.ts';
import { tracingHooks } from '../tracing.ts';
import { combineHooks, metricsHooks, processRegistry } from './job-metrics.ts';
import { metricsAuthorized } from './metrics-auth.ts';
import { ThroughputRecorder, type ThroughputStore } from './throughput.ts';

type MetricsJson = MetricObjectWithValues<MetricValue<string>>[];
const ASK = 'conveyor:metrics?';
const ANSWER = 'conveyor:metrics';

/** In a supervised child: answer the supervisor's metrics requests over IPC; drain if the supervisor dies. */
export function answerMetricsOverIpc() {
  if (!process.send) return;
  process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'));
  process.on('message', (msg: { type?: string; id?: number }) => {
    if (msg?.type !== ASK) return;
    void processRegistry.getMetricsAsJSON().then((metrics) => process.send?.({ type: ANSWER, id: msg.id, metrics }));
  });
}

/** In the supervisor: ask one child for its metrics; undefined if it does not answer within `timeoutMs`. */
export function askChildMetrics(child: ChildProcess, id: number, timeoutMs = 1000) {
  return new Promise<MetricsJson | undefined>((resolve) => {
    if (!child.connected || !child.send) return resolve(undefined);
    const onMessage = (m: { type?: string; id?: number; metrics?: MetricsJson }) => {
      if (m?.type === ANSWER && m.id === id) done(m.metrics);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    const done = (v: MetricsJson | undefined) => {
      clearTimeout(timer);
      child.off('message', onMessage);
      resolve(v);
    };
    child.on('message', onMessage);
    try {
      child.send({ type: ASK, id });
    } catch {
      done(undefined);
    }
  });
}

export interface WorkerInstrumentation {
  hooks: RuntimeHooks;
  /** the metrics port actually bound (WORKER_METRICS_PORT=0 picks a free one); undefined when off */
  port?: number;
  /** where this process's finished runs are counted (the supervisor reads the signal from it) */
  throughput: ThroughputStore;
  close(): Promise<void>;
}

/** Hooks for startWorkers, plus the metrics port when configured. */
export async function startWorkerInstrumentation(deps: {
  config: KernelConfig;
  logger: Logger;
  backend: Backend;
  apiKeys: ApiKeyConfig[];
  /** the catalog's kinds and queues (metrics labels) */
  catalog: CatalogView;
  /** the domains' readiness checks for /readyz (the engine's store is always checked) */
  readiness?: () => Promise<readonly ReadinessCheck[]>;
  /** extra metrics to add to this process's (the supervisor's children) */
  extraMetrics?: () => Promise<MetricsJson[]>;
}): Promise<WorkerInstrumentation> {
  const { config } = deps;
  const store = deps.backend.throughput; // the backend closes it
  const throughput = new ThroughputRecorder(store);
  const server = config.WORKER_METRICS_PORT !== undefined ? await serveWorkerMetrics(deps) : undefined;
  if (process.env.CONVEYOR_SUPERVISED === '1') answerMetricsOverIpc();
  const addr = server?.address();
  return {
    port: typeof addr === 'object' && addr ? addr.port : undefined,
    throughput: store,
    hooks: combineHooks(metricsHooks(deps.catalog, throughput), tracingHooks()),
    close: async () => {
      await throughput.close();
      if (server) await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

async function serveWorkerMetrics(deps: Parameters<typeof startWorkerInstrumentation>[0]): Promise<Server> {
  const { config, backend, logger, apiKeys } = deps;
  const server = createServer((req, res) => {
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    const path = (req.url ?? '/').split('?')[0];
    void (async () => {
      if (req.method !== 'GET') return json(405, { error: { code: 'method_not_allowed', message: 'GET only', details: [] } });
      if (path === '/healthz') return json(200, { status: 'ok' });
      if (path === '/readyz') {
        const { ready, checks } = await runReadiness({ config, backend }, (await deps.readiness?.()) ?? []);
        return json(ready ? 200 : 503, { status: ready ? 'ready' : 'unavailable', checks });
      }
      if (path !== '/metrics') return json(404, { error: { code: 'not_found', message: `no route GET ${path}`, details: [] } });
      if (!metricsAuthorized(req.headers.authorization, config.METRICS_TOKEN, apiKeys)) {
        res.setHeader('www-authenticate', 'Bearer');
        return json(401, {
          error: { code: 'unauthorized', message: 'send METRICS_TOKEN or an API key with the `metrics` scope', details: [] },
        });
      }
      const own = await processRegistry.getMetricsAsJSON();
      const children = (await deps.extraMetrics?.()) ?? [];
      const registry = children.length ? AggregatorRegistry.aggregate([own, ...children]) : processRegistry;
      res.writeHead(200, { 'content-type': registry.contentType }).end(await registry.metrics());
    })().catch((err) => {
      logger.error({ err }, 'worker metrics request failed');
      if (!res.headersSent) json(500, { error: { code: 'internal', message: 'internal error', details: [] } });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.WORKER_METRICS_PORT, config.HOST, () => resolve());
  });
  const addr = server.address();
  logger.info(
    { port: typeof addr === 'object' && addr ? addr.port : config.WORKER_METRICS_PORT },
    'worker metrics listening (/metrics, /healthz, /readyz)',
  );
  return server;
}
