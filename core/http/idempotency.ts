// The `Idempotency-Key` request header (IETF draft-ietf-httpapi-idempotency-key-header): on POST /v1/jobs it
// is the job's `options.idempotencyKey`; on POST /v1/jobs/bulk it keys the request, each job without a key of
// its own getting `<header>#<index>`, so a retried bulk answers the jobs the first attempt stored and makes
// the rest. The draft sends a structured-field string (`"abc"`); a bare token is accepted too.
import type { Request } from 'express';
import { z } from 'zod';
import { ApiError } from './api-error.ts';

export const IDEMPOTENCY_HEADER = 'Idempotency-Key';
/** the response header of an answer replayed from an idempotency record (core/http/idempotent-route.ts) */
export const REPLAYED_HEADER = 'Idempotent-Replayed';

/** documented header parameter of the routes that take it (core/http/openapi.ts) */
export const idempotencyHeaders = z.object({
  'Idempotency-Key': z
    .string()
    .min(1)
    .max(255)
    .optional()
    .describe('a retry with the same key is safe: it answers the job(s) the first request made (options.idempotencyKey)'),
});

const bad = (message: string) =>
  new ApiError(400, 'invalid_request', `bad ${IDEMPOTENCY_HEADER} header`, [{ path: IDEMPOTENCY_HEADER, message }]);

/** The request's key, or undefined without the header; 400 when it is empty, too long or has control characters. */
export function idempotencyKeyOf(req: Request): string | undefined {
  const raw = req.get(IDEMPOTENCY_HEADER);
  if (raw === undefined) return undefined;
  const quoted = /^"(.*)"$/.exec(raw.trim());
  const key = quoted ? (quoted[1] as string).replace(/\\(["\\])/g, '$1') : raw.trim();
  if (key.length === 0 || key.length > 255) throw bad('expects 1 to 255 characters');
  if (hasControlCharacter(key)) throw bad('no control characters');
  return key;
}

/** C0 controls and DEL */
const hasControlCharacter = (s: string) => {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
};

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A job request with the header's key as `options.idempotencyKey` (400 when the body names another one). */
export function withIdempotencyKey(job: unknown, key: string | undefined, path = 'options.idempotencyKey'): unknown {
  if (key === undefined || !isObject(job)) return job;
  const options = job.options === undefined ? {} : job.options;
  if (!isObject(options)) return job; // validation names it
  if (options.idempotencyKey !== undefined && options.idempotencyKey !== key) {
    throw new ApiError(400, 'invalid_request', `the ${IDEMPOTENCY_HEADER} header and ${path} differ`, [
      { path: IDEMPOTENCY_HEADER, message: `differs from ${path}; send one, or both the same` },
    ]);
  }
  return { ...job, options: { ...options, idempotencyKey: key } };
}

/** A bulk's jobs keyed by the request's key: each job without a key of its own gets `<key>#<index>`. */
export function withBulkIdempotencyKey(jobs: unknown[], key: string | undefined): unknown[] {
  if (key === undefined) return jobs;
  return jobs.map((job, i) => {
    if (!isObject(job) || (isObject(job.options) && job.options.idempotencyKey !== undefined)) return job;
    return withIdempotencyKey(job, `${key}#${i}`, `jobs[${i}].options.idempotencyKey`);
  });
}
