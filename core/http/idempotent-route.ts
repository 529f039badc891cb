// The `Idempotency-Key` header on the POSTs that create something other than a job (a flow, a webhook
// subscription, a schedule's run, a bulk action), per IETF draft-ietf-httpapi-idempotency-key-header. Jobs
// take the key as their id (core/http/idempotency.ts); these keep a record instead, in the backend's
// once-ledger `http:idempotency` (core/stores.ts OnceLedger, the engine's store), for IDEMPOTENCY_TTL_SECONDS:
//
// - the ledger key is the route, the caller (API key name) and the header's key: two callers never collide;
// - first request: claim the key, run the route; a 2xx answer is recorded (status, Location, JSON body, and
//   a sha256 of the request: path parameters, query, canonical JSON body) before it is sent; a record write
//   that fails is tried again in the background while the claim holds (`recommit`). Anything else
//   (a 4xx, a 5xx, a thrown error, a 503) records nothing and drops the claim, so a retry runs afresh;
// - the same key again, same request: the recorded answer, with `Idempotent-Replayed: true`;
// - the same key with another request: 422, details naming Idempotency-Key;
// - the same key while the first is still running: 409 with Retry-After.
//
// Every ledger call is bounded by STORE_TIMEOUT_MS (withStoreDeadline): a store outage answers 503 +
// Retry-After (producers/app.ts), never 500 and never a wait.
import { createHash } from 'node:crypto';
import type { Request, Response } from 'express';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { Backend } from '../backend.ts';
import { type BackoffPolicy, backoffDelay } from '../backoff.ts';
import { withStoreDeadline } from '../errors/store-unavailable.ts';
import type { OnceLedger } from '../stores.ts';
import { ApiError } from './api-error.ts';
import { IDEMPOTENCY_HEADER, idempotencyKeyOf, REPLAYED_HEADER } from './idempotency.ts';
import { err } from './openapi.ts';
import { principalOf } from './principal.ts';
import type { AnyRoute } from './route.ts';

/** how long a claim holds while its request runs; it lapses by itself if the process dies */
const leaseMsOf = (storeTimeoutMs: number) => Math.max(30_000, 10 * storeTimeoutMs);

/** What the ledger keeps of a finished request. */
export interface IdempotentRecord {
  /** sha256 of the request (canonicalRequest) */
  fingerprint: string;
  status: number;
  location?: string;
  body: unknown;
}

/** the header's documentation on a route keyed by a record (the `headers` of a route) */
export const recordedIdempotencyHeaders = (what: string) =>
  z.object({
    [IDEMPOTENCY_HEADER]: z
      .string()
      .min(1)
      .max(255)
      .optional()
      .describe(
        `a retry with the same key is safe: it answers what the first request answered (${what}), with ${REPLAYED_HEADER}: true; the same key with another request is 422, while the first still runs 409 + Retry-After. Kept IDEMPOTENCY_TTL_SECONDS.`,
      ),
  });

/** JSON with object keys sorted, so `{a,b}` and `{b,a}` are the same request */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map((x) => (x === undefined ? 'null' : canonicalJson(x))).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>)
      .filter(([, x]) => x !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonicalJson(x)}`).join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/** the ledger's name and the key of one route's (`POST /v1/flows`), one caller's, one header key's entry */
export const IDEMPOTENCY_LEDGER = 'http:idempotency';
export const ledgerEntryOf = (scope: string, caller: string, key: string) => sha256(canonicalJson([scope, caller, key]));

/** no body and `{}` are the same request (a body-less POST, or curl -d '{}') */
const bodyOf = (req: Request): unknown => {
  const b: unknown = req.body;
  if (b === undefined || b === null) return null;
  return typeof b === 'object' && !Array.isArray(b) && Object.keys(b).length === 0 ? null : b;
};

/** what makes two requests to one route "the same": its path parameters, query and body */
const fingerprintOf = (req: Request) => sha256(canonicalJson({ params: req.params ?? {}, query: req.query ?? {}, body: bodyOf(req) }));

export interface IdempotencyDeps {
  backend: Pick<Backend, 'ledger'>;
  config: { IDEMPOTENCY_TTL_SECONDS: number; STORE_TIMEOUT_MS: number };
  logger?: Logger;
}

/**
 * `idempotent(r)`: the route `r`, honouring the Idempotency-Key header by a record (see the file comment),
 * and documenting the header. Without the header the route is unchanged.
 */
export function idempotentRoutes(deps: IdempotencyDeps) {
  let ledger: OnceLedger<IdempotentRecord> | undefined;
  const ledgerOf = () => {
    ledger ??= withStoreDeadline(
      deps.backend.ledger<IdempotentRecord>(IDEMPOTENCY_LEDGER, { ttlSeconds: deps.config.IDEMPOTENCY_TTL_SECONDS }),
      deps.config.STORE_TIMEOUT_MS,
      'idempotency',
    );
    return ledger;
  };
  const leaseMs = leaseMsOf(deps.config.STORE_TIMEOUT_MS);

  return (r: AnyRoute, what = 'the thing it created'): AnyRoute => {
    const scope = `${r.method.toUpperCase()} ${r.path}`;
    const doc = recordedIdempotencyHeaders(what);
    return {
      ...r,
      headers: r.headers ? r.headers.extend(doc.shape) : doc,
      responses: {
        ...r.responses,
        '409': err(
          [r.responses['409']?.description, `a request with this ${IDEMPOTENCY_HEADER} is still running: retry after Retry-After`]
            .filter(Boolean)
            .join('; or '),
        ),
        '422': err(`this ${IDEMPOTENCY_HEADER} was used for another request (path, query or body)`),
      },
      handle: async (req, res, input) => {
        const key = idempotencyKeyOf(req);
        if (key === undefined) return r.handle(req, res, input);
        const store = ledgerOf();
        const entry = ledgerEntryOf(scope, principalOf(req).name, key);
        const fingerprint = fingerprintOf(req);
        const claimedAt = Date.now();
        const begun = await store.begin(entry, leaseMs);
        if (begun.state === 'done') return replay(res, begun.record, fingerprint);
        if (begun.state === 'busy') {
          throw new ApiError(
            409,
            'conflict',
            `a request with this ${IDEMPOTENCY_HEADER} is still being processed; retry after it`,
            [{ path: IDEMPOTENCY_HEADER, message: 'in use by a request still running' }],
            { 'Retry-After': '1' },
          );
        }
        const drop = () => store.release(entry, begun.token).catch(() => {}); // the lease lapses anyway
        const answer = captureJson(res);
        try {
          await r.handle(req, res, input);
        } catch (err) {
          answer.restore();
          await drop();
          throw err;
        }
        answer.restore();
        const got = answer.captured;
        if (!got) {
          await drop(); // answered without JSON (nothing to replay): nothing recorded
          return;
        }
        if (got.status >= 200 && got.status < 300) {
          const location = res.get('Location');
          const record: IdempotentRecord = { fingerprint, status: got.status, body: got.body, ...(location ? { location } : {}) };
          try {
            await store.commit(entry, record);
          } catch (err) {
            // done but not recorded: answer what was done, and keep trying to record it while our claim
            // holds (a retry meanwhile is 409 + Retry-After, then the replay); only a store out for the
            // whole lease lets the claim lapse unrecorded, and a retry after that runs afresh
            deps.logger?.warn(
              { err: (err as Error).message, requestId: req.requestId, route: scope },
              'idempotency record not stored; retrying',
            );
            void recommit(store, entry, record, claimedAt + leaseMs, { logger: deps.logger, requestId: req.requestId, route: scope });
          }
        } else {
          await drop();
        }
        res.json(got.body);
      },
    };
  };
}

/** the waits between tries of a record write that failed: 250 ms doubling, at most 5 s */
const RECOMMIT_BACKOFF: BackoffPolicy = { baseMs: 250, capMs: 5_000, jitter: 'none' };

/**
 * Write `record` until it is stored or `until` (ms) has passed: the claim is ours until then, so no other
 * request can have run the route under this key and the record says what happened.
 */
async function recommit(
  store: OnceLedger<IdempotentRecord>,
  entry: string,
  record: IdempotentRecord,
  until: number,
  log: { logger?: Logger; requestId?: string; route: string },
): Promise<boolean> {
  let lastError = '';
  for (let tries = 1; Date.now() + backoffDelay(RECOMMIT_BACKOFF, tries) < until; tries++) {
    await new Promise((r) => setTimeout(r, backoffDelay(RECOMMIT_BACKOFF, tries)).unref());
    try {
      await store.commit(entry, record);
      log.logger?.info({ requestId: log.requestId, route: log.route, tries }, 'idempotency record stored after retrying');
      return true;
    } catch (err) {
      lastError = (err as Error).message;
    }
  }
  log.logger?.error(
    { requestId: log.requestId, route: log.route, err: lastError },
    'idempotency record not stored before its claim lapsed: a retry with this key will run the request again',
  );
  return false;
}

function replay(res: Response, record: IdempotentRecord, fingerprint: string) {
  if (record.fingerprint !== fingerprint) {
    throw new ApiError(422, 'invalid_request', `this ${IDEMPOTENCY_HEADER} was used for another request`, [
      { path: IDEMPOTENCY_HEADER, message: 'already used with a different request (path, query or body); use a new key' },
    ]);
  }
  res.status(record.status).set(REPLAYED_HEADER, 'true');
  if (record.location) res.location(record.location);
  res.json(record.body);
}

/** Holds what the handler passes to res.json (and its status) instead of sending it, until restored. */
function captureJson(res: Response) {
  const original = res.json;
  const state: { captured?: { status: number; body: unknown } } = {};
  res.json = ((body: unknown) => {
    state.captured = { status: res.statusCode, body };
    return res;
  }) as Response['json'];
  return {
    get captured() {
      return state.captured;
    },
    restore() {
      res.json = original;
    },
  };
}

/**
 * `routes`, those named in `keyed` (`'POST /v1/webhooks': 'the subscription it made'`) honouring the
 * Idempotency-Key header by a record; throws when a name matches no route (a renamed path).
 */
export function withIdempotency(deps: IdempotencyDeps, routes: AnyRoute[], keyed: Record<string, string>): AnyRoute[] {
  const idempotent = idempotentRoutes(deps);
  const scopeOf = (r: AnyRoute) => `${r.method.toUpperCase()} ${r.path}`;
  for (const name of Object.keys(keyed)) {
    if (!routes.some((r) => scopeOf(r) === name)) throw new Error(`withIdempotency: no route ${name}`);
  }
  return routes.map((r) => {
    const what = keyed[scopeOf(r)];
    return what === undefined ? r : idempotent(r, what);
  });
}
