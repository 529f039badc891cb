/** Thrown by a handler when retrying cannot help (bad address, invalid payload): the job is dead-lettered now. */
export class PermanentError extends Error {
  override name = 'PermanentError';
}
