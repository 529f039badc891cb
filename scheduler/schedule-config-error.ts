import type { ErrorDetail } from '../core/validation.ts';

/** A schedule declared in code or config does not validate; the scheduler refuses to start. */
export class ScheduleConfigError extends Error {
  override name = 'ScheduleConfigError';
  constructor(
    readonly schedule: string,
    readonly details: ErrorDetail[],
  ) {
    super(`schedule "${schedule}" is invalid: ${details.map((d) => `${d.path || '(root)'}: ${d.message}`).join('; ')}`);
  }
}
