// The web process's HTTP server: a request's headers and body must arrive in time (a client that sends one
// byte a second cannot hold a connection for minutes) and the open connections are capped.
import { createServer, type RequestListener, type Server } from 'node:http';
import type { Config } from '../workers/config.ts';

type ServerLimits = Pick<Config, 'HTTP_HEADERS_TIMEOUT_MS' | 'HTTP_REQUEST_TIMEOUT_MS' | 'HTTP_MAX_CONNECTIONS'>;

export function createHttpServer(app: RequestListener, config: ServerLimits): Server {
  const server = createServer(
    {
      headersTimeout: config.HTTP_HEADERS_TIMEOUT_MS,
      requestTimeout: Math.max(config.HTTP_REQUEST_TIMEOUT_MS, config.HTTP_HEADERS_TIMEOUT_MS),
      // how often node checks those deadlines (default 30 s): a tenth of the shorter one, at least 250 ms
      connectionsCheckingInterval: Math.max(250, Math.floor(config.HTTP_HEADERS_TIMEOUT_MS / 10)),
    },
    app,
  );
  if (config.HTTP_MAX_CONNECTIONS > 0) server.maxConnections = config.HTTP_MAX_CONNECTIONS;
  return server;
}
