import type { ErrorDetail } from '../core/validation.ts';

/** A failure the API maps to a status: `not_found` 404, `invalid` 400, `conflict` 409. */
export class ScheduleAdminError extends Error {
  override name = 'ScheduleAdminError';
  constructor(
    readonly kind: 'not_found' | 'invalid' | 'conflict',
    message: string,
    readonly details: ErrorDetail[] = [],
  ) {
    super(message);
  }
}
