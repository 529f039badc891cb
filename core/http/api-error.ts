import type { ErrorDetail } from '../validation.ts';

/** An error the API answers with `{ error: { code, message, details, requestId } }`. */
export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: ErrorDetail[] = [],
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}
