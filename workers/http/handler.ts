// Running an HTTP-target kind's job: one signed POST of `{ id, name, attempt, data }` to the kind's URL
// (plus `parents`, each parent's outcome by key, when the job runs in a flow with parents: docs/flows.md)
// (core/outbound/), and the answer turned into what the executor decides on (core/executor.ts decide()):
//   2xx                               → the result: the JSON body (capped), or { status, body } if not JSON
//   429 / 503 with Retry-After        → RetryLaterError: retry after the hint (capped at an hour)
//   408, other 5xx, timeout, no answer → a plain error: retry with the kind's backoff
//   3xx (redirects are not followed), other 4xx, refused target → PermanentError: dead at once,
//                                       with the status and the start of the body

import { PermanentError, RetryLaterError } from '../../core/errors/index.ts';
import type { JobHandler } from '../../core/executor.ts';
import type { KindDefinition } from '../../core/kinds.ts';
import { type OutboundClient, OutboundError, type PostResponse, retryAfterMs, secretProblem } from '../../core/outbound/index.ts';

const MAX_RETRY_AFTER_MS = 3_600_000;
const BODY_START = 200;

/** An HTTP answer that is not a success, as the job's error. */
export class HttpTargetError extends Error {
  override name = 'HttpTargetError';
  constructor(
    readonly status: number,
    bodyStart: string,
  ) {
    super(`HTTP ${status}${bodyStart ? `: ${bodyStart}` : ''}`);
  }
}

const start = (res: PostResponse) => res.body.slice(0, BODY_START).replace(/\s+/g, ' ').trim();

/** The job's result from a 2xx answer. */
function resultOf(res: PostResponse): unknown {
  if (res.body === '') return null;
  const json = /\bjson\b/i.test(String(res.headers['content-type'] ?? ''));
  if (json && !res.truncated) {
    try {
      return JSON.parse(res.body);
    } catch {}
  }
  return { status: res.status, body: res.body, truncated: res.truncated || undefined };
}

/** What a response means for the job: its result, or the error the executor classifies. */
export function classify(res: PostResponse): unknown {
  const { status } = res;
  if (status >= 200 && status < 300) return resultOf(res);
  const err = new HttpTargetError(status, start(res));
  if (status === 429 || status === 503) {
    const hint = retryAfterMs(res.headers['retry-after']);
    if (hint !== undefined) throw new RetryLaterError(err.message, Math.min(hint, MAX_RETRY_AFTER_MS));
    throw err;
  }
  if (status === 408 || status >= 500) throw err;
  throw new PermanentError(status >= 300 && status < 400 ? `${err.message} (redirects are not followed)` : err.message);
}

/** At most `n` requests at once in this process. */
function gate(n: number | undefined) {
  if (!n) return <T>(fn: () => Promise<T>) => fn();
  let running = 0;
  const waiting: (() => void)[] = [];
  return async <T>(fn: () => Promise<T>): Promise<T> => {
    if (running >= n) await new Promise<void>((r) => waiting.push(r));
    running++;
    try {
      return await fn();
    } finally {
      running--;
      waiting.shift()?.();
    }
  };
}

/** The kind's own secret (its signingSecretEnv), or undefined for SIGNING_SECRET. */
function secretOf(def: KindDefinition, env: NodeJS.ProcessEnv): string | undefined {
  const name = def.http?.signingSecretEnv;
  if (!name) return undefined;
  const value = env[name];
  if (!value) throw new PermanentError(`${name} is not set in this worker (the kind's signingSecretEnv)`);
  const problem = secretProblem(value);
  if (problem) throw new PermanentError(`${name}: ${problem}`);
  return value;
}

/** Handlers for declared kinds, one per definition (its concurrency gate with it). */
export function httpHandlers(out: OutboundClient, env: NodeJS.ProcessEnv = process.env) {
  const made = new WeakMap<KindDefinition, JobHandler>();
  return (name: string, def: KindDefinition): JobHandler | undefined => {
    const target = def.http;
    if (!target) return undefined;
    let handler = made.get(def);
    if (!handler) {
      const limit = gate(target.concurrency);
      handler = (payload, ctx) =>
        limit(async () => {
          const parents = ctx.parents && Object.keys(ctx.parents).length > 0 ? ctx.parents : undefined;
          const body = JSON.stringify({ id: ctx.jobId, name, attempt: ctx.attempt, data: payload, parents });
          let res: PostResponse;
          try {
            res = await out.post({
              url: target.url,
              id: ctx.jobId,
              body,
              secret: secretOf(def, env),
              signal: ctx.signal,
              timeoutMs: def.defaults.timeoutMs,
            });
          } catch (err) {
            if (err instanceof OutboundError && (err.code === 'refused' || err.code === 'too-large')) throw new PermanentError(err.message);
            throw err;
          }
          return classify(res);
        });
      made.set(def, handler);
    }
    return handler;
  };
}
