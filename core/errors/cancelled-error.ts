/** The job was cancelled while it ran (DELETE /v1/jobs/:id); never retried. */
export class JobCancelledError extends Error {
  override name = 'JobCancelledError';
}
