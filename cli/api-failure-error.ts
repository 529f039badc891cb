/** The API answered with an error body `{ error: { code, message, details, requestId } }`, or could not be reached. */
export class ApiFailureError extends Error {
  override name = 'ApiFailureError';
  constructor(
    readonly status: number,
    readonly body: {
      error: { code: string; message: string; details?: { path: string; message: string }[]; requestId?: string };
    },
  ) {
    super(body.error.message);
  }
}
