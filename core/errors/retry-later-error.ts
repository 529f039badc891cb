/** Thrown by a handler when the far side asks us to come back later (SMTP 4xx, HTTP 429): retry after `delayMs`. */
export class RetryLaterError extends Error {
  override name = 'RetryLaterError';
  constructor(
    message: string,
    readonly delayMs: number,
  ) {
    super(message);
  }
}
