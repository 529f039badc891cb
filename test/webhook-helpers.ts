// What the completion-webhook suites share (test/webhooks.test.ts, test/webhook-rotation.test.ts): a real
// HTTP receiver that verifies with the standardwebhooks library's own verify(), and a platform whose worker
// delivers (the settler emitting, the deliverer reading each subscription's secrets at delivery time).
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { expect } from 'vitest';
import { createOutbound } from '../core/outbound/index.ts';
import type { HandlerMap } from '../workers/catalog.ts';
import { handlers as diagnostics } from '../workers/diagnostics/handlers.ts';
import { deliverer, subscriptionSecrets } from '../workers/webhooks/handler.ts';
import { webhookSettler } from '../workers/webhooks/settler.ts';
import { setup, type TestPlatform, waitFor } from './helpers.ts';

/** the platform's SIGNING_SECRET in these suites */
export const secret = `whsec_${randomBytes(32).toString('base64')}`;

export interface Delivery {
  id: string;
  headers: IncomingMessage['headers'];
  /** the raw body, as signed */
  body: string;
  event: { type: string; timestamp: string; data: any };
}

/** Does `d` verify with `key` (the library's verify(): any of its signatures)? */
export function verifies(d: Pick<Delivery, 'headers' | 'body'>, key: string): boolean {
  try {
    new Webhook(key).verify(d.body, d.headers as Record<string, string>);
    return true;
  } catch {
    return false;
  }
}

export type Receiver = Awaited<ReturnType<typeof receiver>>;

/**
 * A receiver on `port` (0: any): verifies each request with the library (with SIGNING_SECRET, or the secret
 * its subscription answered: useSecret), answers `status(n)`; a request that does not verify is answered
 * 401 and counted in `unverified`. `all` holds every request that got this far, verified or not.
 */
export async function receiver(port = 0, status: (n: number) => number = () => 200) {
  const got: Delivery[] = [];
  const all: Pick<Delivery, 'headers' | 'body'>[] = [];
  let n = 0;
  let key = secret;
  let unverified = 0;
  const srv: Server = createServer((req, res: ServerResponse) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      const answer = status(++n);
      all.push({ headers: req.headers, body });
      if (answer >= 200 && answer < 300) {
        let event: Delivery['event'];
        try {
          event = new Webhook(key).verify(body, req.headers as Record<string, string>) as Delivery['event'];
        } catch {
          unverified++;
          res.writeHead(401).end();
          return;
        }
        got.push({ id: String(req.headers['webhook-id']), headers: req.headers, body, event });
      }
      res.writeHead(answer).end();
    });
  });
  await new Promise<void>((r) => srv.listen(port, '127.0.0.1', r));
  const bound = (srv.address() as AddressInfo).port;
  return {
    port: bound,
    url: `http://127.0.0.1:${bound}/hook`,
    got,
    all,
    requests: () => n,
    unverified: () => unverified,
    useSecret: (k: string) => {
      key = k;
    },
    close: () =>
      new Promise<void>((r) => {
        srv.closeAllConnections();
        srv.close(() => r());
      }),
  };
}

/** A platform delivering webhooks fast (retries in ms); `queues` the worker consumes (default and webhooks). */
export async function platform(
  engine: 'bullmq' | 'pgboss',
  env: Record<string, string> = {},
  queues: Record<string, number> = { default: 10, webhooks: 10 },
) {
  const t = await setup({
    engine,
    HTTP_TARGET_ALLOWLIST: '127.0.0.1',
    SIGNING_SECRET: secret,
    WEBHOOK_RETRY_BASE_MS: '50',
    WEBHOOK_RETRY_CAP_MS: '300',
    WEBHOOKS_RELOAD_MS: '100',
    ...env,
  });
  const out = await createOutbound(t.config);
  const handlers = {
    ...diagnostics,
    'webhooks.deliver': deliverer(out, t.config, t.backend.engine, subscriptionSecrets(t.backend)),
  } as HandlerMap;
  t.startWorker({ handlers, queues, settlers: [webhookSettler(t.backend, t.config)] });
  return t;
}

export async function enqueue(t: TestPlatform, name: string, data: unknown, options?: unknown) {
  const res = await t.api('POST', '/v1/jobs', { name, data, options });
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  return res.body.id as string;
}

/** the first `n` verified deliveries at `rx`, waited for */
export const deliveriesOf = (rx: { got: Delivery[] }, n: number, what: string) =>
  waitFor(async () => (rx.got.length >= n ? rx.got : undefined), { what, timeoutMs: 20_000 });
