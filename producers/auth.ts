// API keys: the env holds SHA-256 hashes with scopes; a request presents `Authorization: Bearer <key>`.
// Keys are long random strings, so a plain SHA-256 is the right hash (no password stretching needed),
// and looking the hash up in a map leaks nothing about the key.
// Who the key is and what its scopes allow: core/http/principal.ts.
import { randomBytes } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import type { Logger } from 'pino';
import type { Backend } from '../core/backend.ts';
import type { ApiKeyConfig } from '../core/config/index.ts';
import { deadline, isStoreUnavailable } from '../core/errors/store-unavailable.ts';
import { sha256 } from '../core/hash.ts';
import { ApiError } from '../core/http/api-error.ts';
import type { LimitDecision, RateLimiter } from '../core/stores.ts';

/**
 * A rate-limit check that cannot reach its store within the deadline lets the request through (the route's
 * own store call then answers 503 if the store is really down): the limit store is never a reason to hang.
 */
async function withinDeadline(
  decision: Promise<LimitDecision>,
  opts: { deadlineMs?: number; logger?: Logger },
  key: string,
): Promise<LimitDecision> {
  if (opts.deadlineMs === undefined) return decision;
  try {
    return await deadline(decision, opts.deadlineMs, 'rate limit');
  } catch (err) {
    if (!isStoreUnavailable(err)) throw err;
    opts.logger?.warn({ key, err: (err as Error).message }, 'rate-limit store unavailable: request let through');
    return { allowed: true };
  }
}

export function generateApiKey(): { key: string; sha256: string } {
  const key = `cvk_${randomBytes(24).toString('base64url')}`;
  return { key, sha256: sha256(key) };
}

/**
 * Limits per key and second come from the backend: shared by every web process in the engine's store (Redis
 * or Postgres; capabilities.sharedRateLimits; docs/engines.md).
 */
export function authenticate(
  keys: ApiKeyConfig[],
  limits: { backend: Pick<Backend, 'limiter'>; defaultRps: number; deadlineMs?: number; logger?: Logger; failuresPerMinute?: number },
) {
  const byHash = new Map(keys.map((k) => [k.sha256, k]));
  // requests without a valid key, per client IP: guessing keys (or hammering with a revoked one) is throttled
  const failures = limits.backend.limiter({ name: 'rl:auth-fail', points: limits.failuresPerMinute ?? 60, durationSeconds: 60 });
  const refuse = async (req: Request, e: ApiError) => {
    const d = await withinDeadline(failures.consume(req.ip ?? 'unknown'), limits, 'auth-failures');
    if (d.allowed) return e;
    const retry = Math.max(1, Math.ceil(d.retryAfterMs / 1000));
    return new ApiError(429, 'rate_limited', `too many requests without a valid API key; retry in ${retry} s`, [], {
      'Retry-After': String(retry),
    });
  };
  const limiters = new Map<number, RateLimiter>();
  const limiterFor = (rps: number) => {
    let l = limiters.get(rps);
    if (!l) {
      l = limits.backend.limiter({ name: `rl:${rps}`, points: rps, durationSeconds: 1 });
      limiters.set(rps, l);
    }
    return l;
  };

  return async (req: Request, _res: Response, next: NextFunction) => {
    const header = req.get('authorization');
    const match = header?.match(/^Bearer\s+(\S+)\s*$/i);
    if (!match) {
      throw await refuse(
        req,
        new ApiError(401, 'unauthorized', 'send an API key as `Authorization: Bearer <key>`', [], { 'WWW-Authenticate': 'Bearer' }),
      );
    }
    const key = byHash.get(sha256(match[1] as string));
    if (!key) {
      throw await refuse(
        req,
        new ApiError(401, 'unauthorized', 'unknown API key', [], { 'WWW-Authenticate': 'Bearer error="invalid_token"' }),
      );
    }
    const limit = await withinDeadline(limiterFor(key.rateLimitRps ?? limits.defaultRps).consume(key.name), limits, key.name);
    if (!limit.allowed) {
      const retry = Math.max(1, Math.ceil(limit.retryAfterMs / 1000));
      throw new ApiError(429, 'rate_limited', `rate limit for key "${key.name}" exceeded; retry in ${retry} s`, [], {
        'Retry-After': String(retry),
      });
    }
    req.principal = { name: key.name, scopes: new Set(key.scopes) };
    next();
  };
}
