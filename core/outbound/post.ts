// One signed POST to an allowlisted target, per the Standard Webhooks spec (standardwebhooks.com): headers
// webhook-id, webhook-timestamp (unix seconds), webhook-signature `v1,<base64 HMAC-SHA256 of id.timestamp.body>`
// (one per secret, space-separated, when signed with several: a secret's rotation, docs/webhooks.md),
// signed with node:crypto's HMAC (the package's own sign() is pure JS and was the bench's largest cost;
// test/outbound-sign.test.ts proves the bytes identical and verified by the package's verify()).
// node:http rather than fetch: the socket's `lookup` is
// where every resolved address is checked (no DNS rebinding between check and connect), redirects are
// never followed (a 3xx is just a status), and the response body is read up to a cap, then dropped.
// Outcome classification (what a status means for a job or a delivery) is the caller's: this only reports.
import { createHmac, createSecretKey, type KeyObject, randomBytes } from 'node:crypto';
import type { LookupAddress } from 'node:dns';
import { lookup as dnsLookup } from 'node:dns';
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import type { Allowlist } from './allowlist.ts';

export interface SignedPost {
  url: string;
  /** webhook-id: stable across retries of one message, so receivers can de-duplicate */
  id: string;
  /** the exact bytes sent and signed (JSON) */
  body: string;
  /**
   * `whsec_<base64>`; the client's default secret when omitted. Several: one signature each, in this order
   * (a receiver holding any of them verifies); an undefined entry is the default secret.
   */
  secret?: SecretList;
  /** aborts the request; its reason is what post() rejects with */
  signal?: AbortSignal;
  /** bounds the whole exchange, connect to last body byte */
  timeoutMs: number;
  headers?: Record<string, string>;
}

export interface PostResponse {
  status: number;
  headers: IncomingMessage['headers'];
  /** the body, utf-8, at most maxResponseBytes */
  body: string;
  truncated: boolean;
}

/** Why a request did not get a response; `code` is what callers branch on. */
export class OutboundError extends Error {
  override name = 'OutboundError';
  constructor(
    readonly code: 'refused' | 'timeout' | 'connection' | 'too-large',
    message: string,
  ) {
    super(message);
  }
}

export interface OutboundClientOptions {
  allowlist: Allowlist;
  /** `whsec_<base64>` used when a request names none */
  defaultSecret?: string;
  /** response bodies past this are cut (truncated: true); default 64 KiB */
  maxResponseBytes?: number;
  /** request bodies past this are refused before sending; default 1 MiB */
  maxRequestBytes?: number;
  /** sockets kept per target origin; default 64 */
  maxSockets?: number;
  userAgent?: string;
}

/** One secret, or several to sign with side by side; undefined (an entry or all): the client's default secret. */
export type SecretList = string | readonly (string | undefined)[] | undefined;

/** A new `whsec_<base64 of 32 random bytes>`. */
export const newSigningSecret = () => `whsec_${randomBytes(32).toString('base64')}`;

/** `whsec_` + base64 of 24–64 bytes (the spec's range); the problem, or undefined. */
export function secretProblem(secret: string): string | undefined {
  if (!secret.startsWith('whsec_')) return 'expects whsec_<base64>';
  const b64 = secret.slice(6);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64) || b64.length % 4 !== 0) return 'expects whsec_<base64>';
  const n = Buffer.from(b64, 'base64').length;
  return n < 24 || n > 64 ? `expects 24 to 64 bytes after whsec_ (got ${n})` : undefined;
}

/** Retry-After (delta-seconds or an HTTP-date) in ms from `now`; undefined when absent or unreadable. */
export function retryAfterMs(header: string | string[] | undefined, now = Date.now()): number | undefined {
  const v = Array.isArray(header) ? header[0] : header;
  if (!v) return undefined;
  if (/^\s*\d+\s*$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

export class OutboundClient {
  /** each secret's HMAC key (the bytes after whsec_, base64-decoded), decoded once */
  /** each secret's HMAC key, made once: a KeyObject (an HMAC keyed by a Buffer builds one per call, ~13 µs vs ~2 µs) */
  private readonly keys = new Map<string, KeyObject>();
  private readonly http: HttpAgent;
  private readonly https: HttpsAgent;
  private readonly maxResponseBytes: number;
  private readonly maxRequestBytes: number;

  constructor(private readonly opts: OutboundClientOptions) {
    const agent = { keepAlive: true, maxSockets: opts.maxSockets ?? 64 };
    this.http = new HttpAgent(agent);
    this.https = new HttpsAgent(agent);
    this.maxResponseBytes = opts.maxResponseBytes ?? 64 * 1024;
    this.maxRequestBytes = opts.maxRequestBytes ?? 1024 * 1024;
  }

  get allowlist(): Allowlist {
    return this.opts.allowlist;
  }

  /**
   * The Standard Webhooks headers for one message (exported for tests and for callers that send otherwise).
   * Several secrets: `v1,<sig> v1,<sig>` in their order, each once; an entry that is the default secret when
   * there is none is skipped (no SIGNING_SECRET); no secret at all is refused.
   */
  sign(id: string, body: string, secret?: SecretList, at = new Date()): Record<string, string> {
    const list = typeof secret === 'string' || secret === undefined ? [secret] : secret;
    const secrets = [...new Set(list.map((s) => s ?? this.opts.defaultSecret))].filter((s): s is string => !!s);
    if (secrets.length === 0) throw new OutboundError('refused', 'no signing secret: set SIGNING_SECRET');
    const timestamp = String(Math.floor(at.getTime() / 1000));
    const signatures = secrets.map(
      (s) => `v1,${createHmac('sha256', this.keyOf(s)).update(`${id}.${timestamp}.${body}`).digest('base64')}`,
    );
    return { 'webhook-id': id, 'webhook-timestamp': timestamp, 'webhook-signature': signatures.join(' ') };
  }

  private keyOf(secret: string): KeyObject {
    let key = this.keys.get(secret);
    if (!key) {
      key = createSecretKey(Buffer.from(secret.startsWith('whsec_') ? secret.slice(6) : secret, 'base64'));
      this.keys.set(secret, key);
    }
    return key;
  }

  /**
   * POST `req.body`, signed. Resolves with any HTTP response (3xx included: redirects are not followed);
   * rejects with OutboundError (refused / timeout / connection / too-large) or with the signal's reason.
   */
  post(req: SignedPost): Promise<PostResponse> {
    const why = this.opts.allowlist.checkUrl(req.url);
    if (why) return Promise.reject(new OutboundError('refused', `target ${req.url} ${why}`));
    const bytes = Buffer.byteLength(req.body);
    if (bytes > this.maxRequestBytes) {
      return Promise.reject(new OutboundError('too-large', `request body is ${bytes} bytes, over ${this.maxRequestBytes}`));
    }
    if (req.signal?.aborted) return Promise.reject(req.signal.reason);
    let headers: Record<string, string>;
    try {
      headers = {
        ...req.headers,
        'content-type': 'application/json',
        'content-length': String(bytes),
        'user-agent': this.opts.userAgent ?? 'conveyor',
        ...this.sign(req.id, req.body, req.secret),
      };
    } catch (err) {
      return Promise.reject(err);
    }
    return this.send(new URL(req.url), headers, req);
  }

  private send(url: URL, headers: Record<string, string>, req: SignedPost): Promise<PostResponse> {
    return new Promise<PostResponse>((resolve, reject) => {
      const https = url.protocol === 'https:';
      const port = Number(url.port || (https ? 443 : 80));
      let settled = false;
      const finish = (err: unknown, res?: PostResponse) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        req.signal?.removeEventListener('abort', onAbort);
        if (err) {
          outgoing.destroy();
          reject(err);
        } else resolve(res as PostResponse);
      };
      const outgoing = (https ? httpsRequest : httpRequest)(
        url,
        { method: 'POST', headers, agent: https ? this.https : this.http, lookup: this.lookupFor(port) },
        (res) => this.read(res, finish),
      );
      const timer = setTimeout(
        () => finish(new OutboundError('timeout', `no complete response from ${url.host} within ${req.timeoutMs} ms`)),
        req.timeoutMs,
      );
      const onAbort = () => finish(req.signal?.reason ?? new Error('aborted'));
      req.signal?.addEventListener('abort', onAbort, { once: true });
      outgoing.on('error', (err: NodeJS.ErrnoException) => {
        if (err instanceof OutboundError) finish(err);
        else finish(new OutboundError('connection', `${url.host}: ${err.code ?? err.message}`));
      });
      outgoing.end(req.body);
    });
  }

  private read(res: IncomingMessage, finish: (err: unknown, res?: PostResponse) => void) {
    const chunks: Buffer[] = [];
    let size = 0;
    let truncated = false;
    res.on('data', (chunk: Buffer) => {
      if (truncated) return;
      const room = this.maxResponseBytes - size;
      if (chunk.length > room) {
        chunks.push(chunk.subarray(0, room));
        size += room;
        truncated = true;
        // Enough read: answer now and drop the socket rather than draining a large body.
        finish(null, { status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8'), truncated });
        res.destroy();
        return;
      }
      chunks.push(chunk);
      size += chunk.length;
    });
    res.on('end', () =>
      finish(null, { status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8'), truncated }),
    );
    res.on('error', (err) => finish(new OutboundError('connection', `response cut: ${err.message}`)));
  }

  private readonly lookups = new Map<number, LookupFunction>();

  /** The socket's DNS lookup for a port: every address is checked before connect (IP literals skip it: checkUrl did). */
  private lookupFor(port: number): LookupFunction {
    let fn = this.lookups.get(port);
    if (!fn) {
      fn = (hostname, options, callback) => this.lookup(hostname, port, options, callback);
      this.lookups.set(port, fn);
    }
    return fn;
  }

  private lookup(hostname: string, port: number, options: Parameters<LookupFunction>[1], callback: Parameters<LookupFunction>[2]) {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses: LookupAddress[]) => {
      if (err) return callback(err, '', 0);
      for (const a of addresses) {
        const why = this.opts.allowlist.checkAddress(a.address, port);
        if (why) return callback(new OutboundError('refused', `${hostname} ${why}`), '', 0);
      }
      if ((options as { all?: boolean }).all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
      const first = addresses[0] as LookupAddress;
      callback(null, first.address, first.family);
    });
  }

  close(): void {
    this.http.destroy();
    this.https.destroy();
  }
}
