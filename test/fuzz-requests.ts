// Requests for the route fuzz (test/fuzz.test.ts), built from a route's OpenAPI operation: path ids, query
// strings and JSON bodies that follow the documented schema at most nodes and break it at some (wrong
// types, numbers out of range, NUL and odd unicode, prototype keys, huge and deeply nested values), sent
// with assorted content types and encodings. Everything is a fast-check arbitrary, so a failure shrinks to
// a small request and replays from the printed seed.
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import fc from 'fast-check';

export interface Operation {
  method: string;
  /** OpenAPI path, `/v1/jobs/{id}` */
  path: string;
  parameters?: { name: string; in: 'path' | 'query'; schema?: Schema }[];
  requestBody?: { content: { 'application/json': { schema: Schema } } };
  security?: unknown[];
}

type Schema = Record<string, any>;

export interface FuzzRequest {
  method: string;
  /** what goes after the origin, already percent-encoded (or deliberately not) */
  url: string;
  headers: Record<string, string>;
  body?: Buffer;
  /** a short description for failure messages */
  what: string;
}

/** BullMQ's own key names under a queue, a job's sub-keys, and ids that are not ids. */
const ODD_IDS = [
  'meta',
  'id',
  'events',
  'wait',
  'paused',
  'active',
  'delayed',
  'prioritized',
  'completed',
  'failed',
  'stalled',
  'stalled-check',
  'repeat',
  'limiter',
  'marker',
  'metrics',
  'x:lock',
  'x:logs',
  '__proto__',
  'constructor',
  'prototype',
  'hasOwnProperty',
  'toString',
  '0',
  '-1',
  '1e400',
  'NaN',
  'null',
  'undefined',
  'default',
  'email',
  'demo-report',
  'welcome',
  'diagnostics.noop',
];
/** already percent-encoded path segments: malformed escapes, encoded slashes and dots, overlong UTF-8 */
const RAW_SEGMENTS = ['%ZZ', '%', '%E0%A4%A', '%00', '%2F', 'a%2Fb', '..', '.', '%2e%2e', '%C0%AF', '%uD800', '%ED%A0%80', '%FF%FE'];

/** percent-encodes a string that may hold lone surrogates (encodeURIComponent throws on those) */
function encodeSegment(s: string): string {
  try {
    return encodeURIComponent(s);
  } catch {
    return Buffer.from(s, 'utf16le').toString('hex').replace(/(..)/g, '%$1');
  }
}

const oddString = fc.oneof(
  { weight: 4, arbitrary: fc.string({ maxLength: 20 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 20 }) },
  { weight: 2, arbitrary: fc.constantFrom(...ODD_IDS) },
  {
    weight: 1,
    arbitrary: fc.constantFrom('\u0000', 'a\u0000b', '\ud800', 'x\udfffy', '\u202e', '\ufeff', '𝕏'.repeat(50), '<script>alert(1)</script>'),
  },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 3000 }).map((n) => 'x'.repeat(n)) },
);

const pathSegment = fc.oneof(
  { weight: 3, arbitrary: oddString.map(encodeSegment) },
  { weight: 1, arbitrary: fc.constantFrom(...RAW_SEGMENTS) },
);

/** numbers as JSON text: out of every range, or not representable */
const RAW_NUMBERS = ['1e400', '-1e400', '123456789012345678901234567890', '-0', '1.0000000000000000001', '4.9e-325'];
const DEPTH = 10_000;
/** JSON text no value serialises to: very deep nesting, duplicate keys, raw numbers */
const RAW_JSON = [
  ...RAW_NUMBERS,
  `${'['.repeat(DEPTH)}${']'.repeat(DEPTH)}`,
  `${'{"a":'.repeat(DEPTH)}1${'}'.repeat(DEPTH)}`,
  '{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}',
  '{"a":1,"a":2}',
];
const RAW = (i: number) => `\u0007RAW${i}\u0007`;
const RAW_TOKEN = /"\\u0007RAW(\d+)\\u0007"/g;

/** a value that breaks whatever schema is expected at this node */
const wrong: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(null, true, false, 0, -1, 1.5, 2 ** 53 + 2, -(2 ** 31), 1e308, -1e308, '', [], {}, [[[]]], 'true', '1'),
  oddString,
  fc.constantFrom(...RAW_JSON.map((_, i) => RAW(i))),
  fc.constantFrom(JSON.parse('{"__proto__":{"admin":true}}'), { constructor: { prototype: { x: 1 } } }, { prototype: 1 }),
  fc.integer({ min: 65, max: 200 }).map((n) => JSON.parse(`${'['.repeat(n)}${']'.repeat(n)}`)),
  fc.jsonValue({ maxDepth: 3 }),
);

/** Resolves `#/components/schemas/X` against the document. */
type Resolve = (ref: string) => Schema;

function stringOf(s: Schema): fc.Arbitrary<string> {
  if (s.format === 'date-time') return fc.date({ noInvalidDate: true }).map((d) => d.toISOString());
  if (typeof s.pattern === 'string') {
    try {
      return fc.stringMatching(new RegExp(s.pattern), { size: 'small' });
    } catch {}
  }
  return fc.string({ minLength: s.minLength ?? 0, maxLength: Math.min(s.maxLength ?? 30, 30) });
}

/** A value following `s` (a JSON Schema 2020-12 subset), with a wrong value at some nodes. */
export function fromSchema(s: Schema | undefined, resolve: Resolve, depth = 0): fc.Arbitrary<unknown> {
  const valid = validOf(s ?? {}, resolve, depth);
  return fc.oneof({ weight: 10, arbitrary: valid }, { weight: 1, arbitrary: wrong });
}

function validOf(s: Schema, resolve: Resolve, depth: number): fc.Arbitrary<unknown> {
  if (depth > 6) return fc.jsonValue({ maxDepth: 1 });
  const next = (x: Schema | undefined) => fromSchema(x, resolve, depth + 1);
  if (typeof s.$ref === 'string') return validOf(resolve(s.$ref), resolve, depth + 1);
  if ('const' in s) return fc.constant(s.const);
  if (Array.isArray(s.enum) && s.enum.length > 0) return fc.constantFrom(...s.enum);
  const alts = s.anyOf ?? s.oneOf;
  if (Array.isArray(alts) && alts.length > 0) return fc.oneof(...alts.map((a: Schema) => validOf(a, resolve, depth + 1)));
  if (Array.isArray(s.allOf) && s.allOf.length > 0) return validOf(s.allOf[0], resolve, depth + 1);
  const type = Array.isArray(s.type) ? s.type[0] : s.type;
  switch (type) {
    case 'object': {
      const props = Object.fromEntries(Object.entries<Schema>(s.properties ?? {}).map(([k, v]) => [k, next(v)]));
      const extra = fc.dictionary(
        fc.oneof(fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString'), fc.string({ maxLength: 8 })),
        wrong,
        {
          maxKeys: 2,
        },
      );
      return fc
        .tuple(
          fc.record(props, { requiredKeys: s.required ?? [] }),
          fc.oneof({ weight: 4, arbitrary: fc.constant({}) }, { weight: 1, arbitrary: extra }),
        )
        .map(([a, b]) => Object.assign(JSON.parse(JSON.stringify(b)), a));
    }
    case 'array':
      return fc.array(next(s.items), { maxLength: Math.min(s.maxItems ?? 3, 3) });
    case 'string':
      return stringOf(s);
    case 'integer':
      return fc.integer({ min: Math.max(s.minimum ?? -1000, -(2 ** 31)), max: Math.min(s.maximum ?? 100_000, 2 ** 31) });
    case 'number':
      return fc.double({ noNaN: true, noDefaultInfinity: true, min: s.minimum ?? -1e6, max: s.maximum ?? 1e6 });
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

/** JSON text of a generated value, raw tokens replaced by their text */
const serialise = (v: unknown) => (JSON.stringify(v) ?? 'null').replace(RAW_TOKEN, (_, i) => RAW_JSON[Number(i)] as string);

const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'application/merge-patch+json',
  'application/json; charset=x-klingon',
  'application/json; charset=latin1',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=zz',
  'application/octet-stream',
  '',
];

type Encoding = (b: Buffer) => Buffer;
const ENCODINGS: Record<string, Encoding> = {
  gzip: (b) => gzipSync(b),
  deflate: (b) => deflateSync(b),
  br: (b) => brotliCompressSync(b),
  'gzip!corrupt': (b) => Buffer.concat([gzipSync(b).subarray(0, 12), Buffer.from('garbage')]),
  'br!corrupt': (b) => brotliCompressSync(b).subarray(0, 3),
  'deflate!plain': (b) => b,
  'zstd!plain': (b) => b,
  'x-unknown!plain': (b) => b,
  'gzip, gzip!plain': (b) => gzipSync(b),
};

const bodyOf = (schema: Schema | undefined, resolve: Resolve) =>
  fc.oneof(
    { weight: 12, arbitrary: fromSchema(schema, resolve).map(serialise) },
    { weight: 1, arbitrary: fc.constantFrom(...RAW_JSON, '', '{', '{"a":', 'null', '[]', '"x"', '\u0000', '{"name":"x"}garbage') },
    { weight: 1, arbitrary: fc.constant(null).map(() => JSON.stringify({ pad: 'x'.repeat(1_200_000) })) },
  );

const headersOf = fc.record(
  {
    contentType: fc.oneof(
      { weight: 8, arbitrary: fc.constant('application/json') },
      { weight: 2, arbitrary: fc.constantFrom(...CONTENT_TYPES) },
    ),
    encoding: fc.oneof({ weight: 10, arbitrary: fc.constant('') }, { weight: 2, arbitrary: fc.constantFrom(...Object.keys(ENCODINGS)) }),
    idempotencyKey: fc.option(fc.oneof(fc.string({ unit: 'grapheme-ascii', maxLength: 300 }), fc.constantFrom('', ' ', 'x'.repeat(5000))), {
      freq: 4,
    }),
    key: fc.constantFrom<'admin' | 'scoped'>('admin', 'admin', 'admin', 'scoped'),
  },
  { requiredKeys: ['contentType', 'encoding', 'key'] },
);

/** a query string: the operation's own parameters and others, odd values, repeated keys, raw escapes */
function queryOf(op: Operation) {
  const names = (op.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name);
  const name = fc.oneof(
    { weight: 4, arbitrary: names.length ? fc.constantFrom(...names) : fc.constant('q') },
    { weight: 1, arbitrary: fc.constantFrom('__proto__', 'constructor', 'x', '') },
  );
  const value = fc.oneof(
    oddString.map(encodeSegment),
    fc.constantFrom('%ZZ', '-1', '0', '1e400', '99999999999999999999', '1.5', 'NaN', 'true', '', '9999-12-31T00:00:00Z', '2026-13-45'),
  );
  return fc
    .array(fc.tuple(name, value), { maxLength: 4 })
    .map((pairs) => (pairs.length ? `?${pairs.map(([k, v]) => `${k}=${v}`).join('&')}` : ''));
}

export interface RequestContext {
  resolve: Resolve;
  keys: { admin: string; scoped: string };
}

/** Requests for `op`: its path with odd ids, odd queries, and (for a body route, sometimes any route) odd bodies. */
export function requestsFor(op: Operation, ctx: RequestContext): fc.Arbitrary<FuzzRequest> {
  const paramNames = [...op.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1] as string);
  const schema = op.requestBody?.content['application/json'].schema;
  const hasBody = !!schema || op.method === 'POST' || op.method === 'PUT';
  return fc
    .record({
      ids: fc.tuple(...paramNames.map(() => pathSegment)),
      query: queryOf(op),
      body: hasBody ? fc.option(bodyOf(schema, ctx.resolve), { freq: 8 }) : fc.constant(null),
      h: headersOf,
    })
    .map(({ ids, query, body, h }) => {
      let i = 0;
      const url = op.path.replace(/\{\w+\}/g, () => ids[i++] as string) + query;
      const headers: Record<string, string> = { authorization: `Bearer ${ctx.keys[h.key]}` };
      let buf: Buffer | undefined;
      if (body !== null) {
        buf = Buffer.from(body);
        if (h.contentType) headers['content-type'] = h.contentType;
        if (h.encoding) {
          const [name] = h.encoding.split('!');
          buf = (ENCODINGS[h.encoding] as Encoding)(buf);
          headers['content-encoding'] = name as string;
        }
      }
      if (h.idempotencyKey !== undefined && h.idempotencyKey !== null) headers['idempotency-key'] = h.idempotencyKey;
      const shown =
        body === null
          ? ''
          : ` body(${body.length} B, ${h.contentType || 'no type'}${h.encoding ? `, ${h.encoding}` : ''}): ${body.slice(0, 300)}`;
      return { method: op.method, url, headers, body: buf, what: `${op.method} ${url.slice(0, 300)} [${h.key}]${shown}` };
    });
}

/** query parameters the dashboard's pages read (any others are sent too) */
const DASHBOARD_QUERY = [
  'q',
  'id',
  'kind',
  'queue',
  'state',
  'cursor',
  'limit',
  'msg',
  'next',
  'format',
  'since',
  'until',
  'actor',
  'action',
];

/**
 * Requests for a dashboard route (express path under /admin) as a signed-in user: odd ids and queries, and
 * for a POST a JSON or form body with the CSRF token at most nodes and odd values elsewhere.
 */
export function dashboardRequestsFor(method: string, path: string, session: { cookie: string; csrf: string }): fc.Arbitrary<FuzzRequest> {
  const op: Operation = {
    method,
    path: `/admin${path}`.replace(/:(\w+)/g, '{$1}').replace(/\/$/, '') || '/admin',
    parameters: DASHBOARD_QUERY.map((name) => ({ name, in: 'query' as const })),
    ...(method === 'POST'
      ? {
          requestBody: {
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  required: ['_csrf'],
                  properties: {
                    _csrf: { const: session.csrf },
                    action: { enum: ['retry', 'cancel', 'delete', 'replay', 'promote'] },
                    filter: { type: 'string' },
                    token: { type: 'string' },
                    user: { type: 'string' },
                    password: { type: 'string' },
                  },
                },
              },
            },
          },
        }
      : {}),
  };
  return fc.tuple(requestsFor(op, { resolve: () => ({}), keys: { admin: '', scoped: '' } }), fc.boolean()).map(([r, asForm]) => {
    const headers: Record<string, string> = { ...r.headers, cookie: session.cookie, 'x-xsrf-token': session.csrf };
    delete headers.authorization;
    let body = r.body;
    if (asForm && body && !headers['content-encoding']) {
      try {
        const v = JSON.parse(body.toString());
        if (v && typeof v === 'object' && !Array.isArray(v)) {
          body = Buffer.from(
            new URLSearchParams(
              Object.entries(v).map(([k, x]): [string, string] => [k, typeof x === 'string' ? x : JSON.stringify(x)]),
            ).toString(),
          );
          headers['content-type'] = 'application/x-www-form-urlencoded';
        }
      } catch {}
    }
    return { ...r, headers, body, what: `${r.what}${body !== r.body ? ' (as a form)' : ''}` };
  });
}
