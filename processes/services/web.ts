// The web process's services: the dashboard and the HTTP server. The server stops first: no new
// requests, in-flight ones finish within the grace, then its connections close.
import type { Server } from 'node:http';
import { resource, service } from '../../core/lifecycle.ts';
import { createDashboard } from '../../dashboard/index.ts';
import { createApp } from '../../producers/app.ts';
import { createHttpServer } from '../../producers/server.ts';
import { apiKeysOf } from '../api-keys.ts';
import type { EntryContext } from '../run.ts';
import type { ProcessBackend } from './backend.ts';

function httpServer(ctx: EntryContext, listen: () => Server) {
  const { config, logger } = ctx;
  let server: Server | undefined;
  return service(
    'web server',
    async () => {
      const s = listen();
      server = s;
      s.keepAliveTimeout = 65_000; // above typical load-balancer idle timeouts
      await new Promise<void>((resolve, reject) => {
        s.once('listening', resolve);
        s.once('error', reject);
      });
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : config.PORT;
      logger.info({ port, host: config.HOST }, `web listening on http://${config.HOST === '0.0.0.0' ? '127.0.0.1' : config.HOST}:${port}`);
    },
    async (graceMs) => {
      const s = server;
      if (!s) return;
      const closed = new Promise<void>((resolve) => s.close(() => resolve()));
      s.closeIdleConnections();
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([closed, new Promise((resolve) => (timer = setTimeout(resolve, graceMs)))]);
      clearTimeout(timer);
      s.closeAllConnections();
      await closed;
    },
  );
}

export async function startWeb(ctx: EntryContext, { config, backend }: ProcessBackend): Promise<void> {
  const { life, logger } = ctx;
  // install/open the store now, not on the first request (whose store deadline it would spend); a store
  // that is down at boot only makes /readyz and the API answer 503 until it is back
  backend.release?.run().catch((err: Error) => logger.warn({ err: err.message }, 'queue store not reachable at start'));
  const apiKeys = apiKeysOf(config, logger);
  const dashboard = await life.start(
    resource(
      'dashboard',
      () => createDashboard({ config, logger, backend }),
      (d) => d.close(),
    ),
  );
  const app = await createApp({ engine: backend.engine, backend, config, logger, apiKeys, dashboard: dashboard.value.router });
  await life.start(httpServer(ctx, () => createHttpServer(app, config).listen(config.PORT, config.HOST)));
}
