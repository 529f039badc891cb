// Process entry, one mode per Procfile process type: `web`, `worker`, `scheduler`, `release`, and `all`
// (web + worker + scheduler in one process, for development: `npm start`). Also `keygen`, which prints a
// new API key and the hash to put in API_KEYS.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { resolve } from 'node:path';
import type { Logger } from 'pino';
import { createBackend, LocalStoreError, startLocalStore } from '../core/engines/factory.ts';
import { createLogger } from '../core/logger.ts';
import { startWorkerInstrumentation, type WorkerInstrumentation } from '../core/metrics/worker-server.ts';
import { startTracing } from '../core/tracing.ts';
import { createDashboard, type Dashboard } from '../dashboard/index.ts';
import { createApp } from '../producers/app.ts';
import { generateApiKey, sha256 } from '../producers/auth.ts';
import { type RunningScheduler, startScheduler } from '../scheduler/index.ts';
import { ScheduleConfigError } from '../scheduler/schedule-config-error.ts';
import { queueNames } from '../workers/catalog.ts';
import { type ApiKeyConfig, type Config, ConfigError, loadConfig } from '../workers/config.ts';
import { createHandlers, type HandlerSet } from '../workers/domains.ts';
import { startWorkers, type WorkerRuntime } from '../workers/runtime.ts';
import { runSupervisor } from '../workers/supervisor.ts';
import { runRelease } from './release.ts';

type Mode = 'web' | 'worker' | 'scheduler' | 'release' | 'all' | 'keygen';
const MODES: Mode[] = ['web', 'worker', 'scheduler', 'release', 'all', 'keygen'];

/** Without API_KEYS outside production, one admin key is made and kept under DATA_DIR. */
function devApiKeys(config: Config, logger: Logger): ApiKeyConfig[] {
  const file = resolve(config.DATA_DIR, 'dev-api-key');
  let key: string;
  if (existsSync(file)) key = readFileSync(file, 'utf8').trim();
  else {
    mkdirSync(config.DATA_DIR, { recursive: true });
    key = generateApiKey().key;
    writeFileSync(file, `${key}\n`, { mode: 0o600 });
  }
  logger.warn({ file }, `API_KEYS is not set: development admin key is ${key} (Authorization: Bearer <key>)`);
  return [{ name: 'dev-admin', sha256: sha256(key), scopes: ['admin'] }];
}

async function main() {
  const mode = (process.argv[2] ?? 'all') as Mode;
  if (!MODES.includes(mode)) {
    console.error(`usage: main.ts ${MODES.join('|')} (got "${mode}")`);
    process.exit(2);
  }
  if (mode === 'keygen') {
    const { key, sha256: hash } = generateApiKey();
    console.log(`key:     ${key}\nAPI_KEYS entry: ${JSON.stringify({ name: 'CHANGE-ME', sha256: hash, scopes: ['admin'] })}`);
    return;
  }

  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`conveyor: ${err.message}\nSee the configuration table in README.md.`);
      process.exit(78); // EX_CONFIG
    }
    throw err;
  }
  const logger = createLogger(config.LOG_LEVEL, { process: mode });

  // a private Redis or an embedded PostgreSQL for development (core/engines/factory.ts, docs/engines.md)
  let localStore: { config: Config; stop(): Promise<void> };
  try {
    localStore = await startLocalStore(config, { mode, logger });
  } catch (err) {
    if (!(err instanceof LocalStoreError)) throw err;
    if (err.exitCode === 78) console.error(`conveyor: ${err.message}`);
    else logger.fatal(err.message);
    process.exit(err.exitCode);
  }
  config = localStore.config;

  const backend = createBackend(config, logger, { queues: queueNames });
  const engine = backend.engine;
  if (mode === 'release') {
    try {
      await runRelease({ config, logger, engine, backend });
      await backend.close();
      process.exit(0);
    } catch (err) {
      logger.fatal({ err }, 'release failed');
      process.exit(1);
    }
  }
  let server: Server | undefined;
  let dashboard: Dashboard | undefined;
  let runtime: WorkerRuntime | undefined;
  let handlerSet: HandlerSet | undefined;
  let instrumentation: WorkerInstrumentation | undefined;
  const tracing = await startTracing(config, mode); // no-op unless OTEL_EXPORTER_OTLP_ENDPOINT is set
  if (mode === 'worker' && config.WORKER_AUTOSCALE) {
    await runSupervisor({ config, logger, backend, apiKeys: config.API_KEYS ?? devApiKeys(config, logger) }); // workers/supervisor.ts
    return;
  }

  if (mode === 'web' || mode === 'all') {
    const apiKeys = config.API_KEYS ?? devApiKeys(config, logger);
    dashboard = await createDashboard({ config, logger, backend });
    const app = createApp({ engine, backend, config, logger, apiKeys, dashboard: dashboard.router });
    server = app.listen(config.PORT, config.HOST, () => {
      const addr = server?.address();
      const port = typeof addr === 'object' && addr ? addr.port : config.PORT;
      logger.info({ port, host: config.HOST }, `web listening on http://${config.HOST === '0.0.0.0' ? '127.0.0.1' : config.HOST}:${port}`);
    });
    server.keepAliveTimeout = 65_000; // above typical load-balancer idle timeouts
  }
  if (mode === 'worker' || mode === 'all') {
    handlerSet = await createHandlers({ config, logger, engine, backend });
    const metricsKeys = config.WORKER_METRICS_PORT === undefined ? [] : (config.API_KEYS ?? devApiKeys(config, logger));
    instrumentation = await startWorkerInstrumentation({ config, logger, backend, apiKeys: metricsKeys });
    runtime = startWorkers({
      engine,
      logger,
      handlers: handlerSet.handlers,
      queues: config.WORKER_QUEUES,
      hooks: instrumentation.hooks,
      rateLimits: { email: { max: config.EMAIL_RATE_PER_SECOND, durationMs: 1000 } },
    });
  }

  let scheduler: RunningScheduler | undefined;
  if (mode === 'scheduler' || mode === 'all') {
    try {
      scheduler = await startScheduler({ config, logger, backend }); // scheduler/, docs/scheduler.md
    } catch (err) {
      if (!(err instanceof ScheduleConfigError)) throw err;
      logger.fatal(err.message);
      process.exit(78); // EX_CONFIG
    }
  }

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    const started = Date.now();
    logger.info({ signal, graceMs: config.WORKER_SHUTDOWN_GRACE_MS }, 'shutting down: no new work, finishing in-flight jobs');
    const closingServer = server ? new Promise<void>((r) => server?.close(() => r())) : Promise.resolve();
    server?.closeIdleConnections();
    await scheduler?.close();
    const { abandoned } = runtime ? await runtime.close(config.WORKER_SHUTDOWN_GRACE_MS) : { abandoned: 0 };
    if (abandoned > 0) logger.warn({ abandoned }, 'grace ran out: unfinished jobs will be recovered by the stalled-job check');
    server?.closeAllConnections();
    await closingServer;
    await handlerSet?.close();
    await instrumentation?.close();
    await tracing.shutdown();
    await dashboard?.close();
    await backend.close();
    await localStore.stop();
    logger.info({ ms: Date.now() - started }, 'stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
