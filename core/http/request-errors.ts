// Errors raised by the HTTP libraries before a handler runs (body-parser, the router's path decoding, zlib
// inflating a body) as the API's 4xx: a request that cannot be read is the caller's fault, never a 500.
// producers/app.ts and the dashboard's error page both answer through `requestError`.
import { IdempotencyKeyUsedError } from '../errors/key-expired-error.ts';
import { ApiError } from './api-error.ts';

interface LibraryError {
  type?: string;
  status?: number;
  statusCode?: number;
  code?: string;
  limit?: number;
  message?: string;
}

const BODY = '(body)';

/** The ApiError a library error stands for, or null when it is not one the caller caused. */
export function requestError(err: unknown): ApiError | null {
  if (err instanceof ApiError) return err;
  if (err instanceof IdempotencyKeyUsedError) {
    return new ApiError(409, 'idempotency_key_used', err.message, [
      {
        path: 'options.idempotencyKey',
        message: `used by job ${err.jobId} within IDEMPOTENCY_TTL_SECONDS; that job is no longer retained`,
      },
    ]);
  }
  if (!err || typeof err !== 'object') return null;
  const e = err as LibraryError;
  const message = String(e.message ?? '');
  switch (e.type) {
    case 'entity.too.large':
      return new ApiError(413, 'payload_too_large', `request body exceeds ${e.limit} bytes`, [
        { path: BODY, message: `at most ${e.limit} bytes` },
      ]);
    case 'entity.parse.failed':
      return new ApiError(400, 'invalid_json', 'the body is not valid JSON', [{ path: BODY, message }]);
    case 'encoding.unsupported':
      return new ApiError(415, 'unsupported_media_type', message, [
        { path: 'Content-Encoding', message: 'expects gzip, deflate, br or identity' },
      ]);
    case 'charset.unsupported':
      return new ApiError(415, 'unsupported_media_type', message, [{ path: 'Content-Type', message: 'expects charset=utf-8' }]);
    case 'parameters.too.many':
      return new ApiError(413, 'payload_too_large', 'too many form fields', [{ path: BODY, message }]);
    case 'request.aborted':
    case 'request.size.invalid':
      return new ApiError(400, 'bad_request', 'the request body was cut short', [{ path: BODY, message }]);
  }
  // a body that does not inflate (corrupt gzip/deflate/br: zlib's error, 400), a malformed percent-escape in
  // the path (the router's URIError, 400), any other http-errors 4xx
  const status = e.status ?? e.statusCode;
  if (typeof status !== 'number' || status < 400 || status >= 500) return err instanceof URIError ? badPath(message) : null;
  if (err instanceof URIError) return badPath(message);
  if (typeof e.code === 'string' && status === 400) {
    return new ApiError(400, 'invalid_encoding', 'the body does not decode as its Content-Encoding says', [
      { path: 'Content-Encoding', message },
    ]);
  }
  return new ApiError(status, status === 400 ? 'bad_request' : 'invalid_request', message || 'bad request', [{ path: BODY, message }]);
}

const badPath = (message: string) =>
  new ApiError(400, 'bad_request', 'malformed percent-escape in the path', [{ path: '(path)', message }]);
