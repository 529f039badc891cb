// core/outbound/: the allowlist and the signed POST, against real HTTP servers started here. The engine
// plays no part (this is the kernel's HTTP client), so these run once, not per engine.
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Allowlist, OutboundClient, OutboundError, retryAfterMs, secretProblem } from '../core/outbound/index.ts';

const secret = `whsec_${randomBytes(32).toString('base64')}`;

interface Seen {
  headers: IncomingMessage['headers'];
  body: string;
}

async function server(handle: (req: IncomingMessage, res: ServerResponse, body: string) => void) {
  const seen: Seen[] = [];
  const srv = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      seen.push({ headers: req.headers, body });
      handle(req, res, body);
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as AddressInfo).port;
  return { srv, port, seen, url: (path = '/') => `http://127.0.0.1:${port}${path}` };
}

describe('allowlist', () => {
  it('parses hosts, host:port and CIDRs and names a bad entry', () => {
    const list = Allowlist.parse('billing.internal, *.svc.local, api.example.com:8443, 10.0.0.0/8, 127.0.0.1, [::1]:9000');
    expect(list.entries.map((e) => e.type)).toEqual(['host', 'host', 'host', 'cidr', 'cidr', 'host']);
    expect(() => Allowlist.parse('ok.host, 10.0.0.0/40')).toThrow(/"10\.0\.0\.0\/40": the prefix must be 0 to 32/);
    expect(() => Allowlist.parse('bad_host!')).toThrow(/"bad_host!"/);
  });

  it('allows only what an entry matches; empty allows nothing', () => {
    const list = Allowlist.parse('billing.internal,*.svc.local,api.example.com:8443,10.0.0.0/8');
    expect(list.checkUrl('http://billing.internal/jobs')).toBeUndefined();
    expect(list.checkUrl('https://a.b.svc.local/x')).toBeUndefined();
    expect(list.checkUrl('https://svc.local/x')).toMatch(/matches no entry/);
    expect(list.checkUrl('https://api.example.com:8443/')).toBeUndefined();
    expect(list.checkUrl('https://api.example.com/')).toMatch(/matches no entry/);
    expect(list.checkUrl('http://10.1.2.3:9000/')).toBeUndefined();
    expect(list.checkUrl('http://11.1.2.3/')).toMatch(/matches no entry/);
    expect(list.checkUrl('ftp://billing.internal/')).toMatch(/http/);
    expect(list.checkUrl('http://u:p@billing.internal/')).toMatch(/credentials/);
    expect(Allowlist.parse('').checkUrl('http://billing.internal/')).toMatch(/HTTP_TARGET_ALLOWLIST is empty/);
  });

  it('refuses the metadata service and the platform stores even when an entry covers them', () => {
    const list = Allowlist.parse('0.0.0.0/0,::/0').denyEndpoints([{ address: '127.0.0.1', port: 6379 }]);
    expect(list.checkUrl('http://169.254.169.254/latest/meta-data/')).toMatch(/link-local/);
    expect(list.checkUrl('http://[::ffff:169.254.169.254]/')).toMatch(/link-local/);
    expect(list.checkUrl('http://[fe80::1]/')).toMatch(/link-local/);
    expect(list.checkUrl('http://127.0.0.1:6379/')).toMatch(/platform's own stores/);
    expect(list.checkUrl('http://127.0.0.2:6379/')).toMatch(/platform's own stores/);
    expect(list.checkUrl('http://127.0.0.1:6380/')).toBeUndefined();
    expect(list.checkAddress('169.254.169.254', 80)).toMatch(/link-local/);
  });
});

describe('signed POST', () => {
  const client = new OutboundClient({
    allowlist: Allowlist.parse('127.0.0.1,localhost').denyEndpoints([{ address: '127.0.0.1', port: 6379 }]),
    defaultSecret: secret,
    maxResponseBytes: 1024,
  });
  let target: Awaited<ReturnType<typeof server>>;
  beforeAll(async () => {
    target = await server((req, res, body) => {
      if (req.url === '/redirect') {
        res.writeHead(302, { location: '/ok' }).end();
      } else if (req.url === '/big') {
        res.writeHead(200, { 'content-type': 'application/json' }).end('x'.repeat(100_000));
      } else if (req.url === '/slow') {
        setTimeout(() => res.end('{}'), 5_000).unref();
      } else {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ echoed: JSON.parse(body) }));
      }
    });
  });
  afterAll(() => {
    client.close();
    target.srv.closeAllConnections();
    target.srv.close();
  });

  it('signs per Standard Webhooks: the library verify() accepts it, a wrong secret does not', async () => {
    const res = await client.post({ url: target.url('/ok'), id: 'job-1', body: '{"a":1}', timeoutMs: 5000 });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toEqual({ echoed: { a: 1 } });
    const got = target.seen.at(-1) as Seen;
    expect(got.headers['webhook-id']).toBe('job-1');
    expect(got.headers['content-type']).toBe('application/json');
    expect(new Webhook(secret).verify(got.body, got.headers as Record<string, string>)).toEqual({ a: 1 });
    const other = `whsec_${randomBytes(32).toString('base64')}`;
    expect(() => new Webhook(other).verify(got.body, got.headers as Record<string, string>)).toThrow(/signature/);
  });

  it('uses a per-request secret when given', async () => {
    const own = `whsec_${randomBytes(24).toString('base64')}`;
    await client.post({ url: target.url('/ok'), id: 'job-2', body: '{}', secret: own, timeoutMs: 5000 });
    const got = target.seen.at(-1) as Seen;
    expect(() => new Webhook(own).verify(got.body, got.headers as Record<string, string>)).not.toThrow();
  });

  it('does not follow redirects', async () => {
    const before = target.seen.length;
    const res = await client.post({ url: target.url('/redirect'), id: 'r', body: '{}', timeoutMs: 5000 });
    expect(res.status).toBe(302);
    expect(target.seen.length).toBe(before + 1);
  });

  it('caps the response body', async () => {
    const res = await client.post({ url: target.url('/big'), id: 'b', body: '{}', timeoutMs: 5000 });
    expect(res.truncated).toBe(true);
    expect(res.body.length).toBe(1024);
  });

  it('times out, and the signal aborts with its own reason', async () => {
    await expect(client.post({ url: target.url('/slow'), id: 's', body: '{}', timeoutMs: 100 })).rejects.toMatchObject({ code: 'timeout' });
    const ac = new AbortController();
    const p = client.post({ url: target.url('/slow'), id: 's2', body: '{}', timeoutMs: 5000, signal: ac.signal });
    const reason = new Error('cancelled by test');
    setTimeout(() => ac.abort(reason), 50);
    await expect(p).rejects.toBe(reason);
  });

  it('refuses targets outside the allowlist before connecting, and checks resolved addresses', async () => {
    await expect(client.post({ url: 'http://example.com/', id: 'x', body: '{}', timeoutMs: 1000 })).rejects.toMatchObject({
      code: 'refused',
    });
    // localhost is allowed by name, but resolves to the (denied) Redis endpoint on that port
    const err = await client.post({ url: 'http://localhost:6379/', id: 'x', body: '{}', timeoutMs: 1000 }).catch((e) => e);
    expect(err).toBeInstanceOf(OutboundError);
    expect(err.message).toMatch(/platform's own stores/);
  });

  it('reports connection errors as such', async () => {
    const closed = await server(() => {});
    closed.srv.close();
    await expect(client.post({ url: closed.url('/'), id: 'c', body: '{}', timeoutMs: 1000 })).rejects.toMatchObject({ code: 'connection' });
  });
});

describe('helpers', () => {
  it('reads Retry-After as seconds or an HTTP date', () => {
    expect(retryAfterMs('3')).toBe(3000);
    expect(retryAfterMs(new Date(10_000).toUTCString(), 4_000)).toBe(6000);
    expect(retryAfterMs('soon')).toBeUndefined();
    expect(retryAfterMs(undefined)).toBeUndefined();
  });
  it('checks signing secrets', () => {
    expect(secretProblem(secret)).toBeUndefined();
    expect(secretProblem('abc')).toMatch(/whsec_/);
    expect(secretProblem(`whsec_${Buffer.alloc(8).toString('base64')}`)).toMatch(/24 to 64 bytes/);
  });
});
