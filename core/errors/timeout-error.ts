/** The job ran longer than its timeout; its AbortSignal was fired. Retried like any transient error. */
export class JobTimeoutError extends Error {
  override name = 'JobTimeoutError';
}
