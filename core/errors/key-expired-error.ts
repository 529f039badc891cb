/**
 * A repeated idempotency key within IDEMPOTENCY_TTL_SECONDS whose job has finished and is no longer retained
 * (BullMQ trims a queue's finished jobs by count whichever job finishes; the key's record outlives the job).
 * Nothing was enqueued: the job the key made already ran. The API answers 409 (core/http/request-errors.ts).
 */
export class IdempotencyKeyUsedError extends Error {
  override name = 'IdempotencyKeyUsedError';
  constructor(readonly jobId: string) {
    super(`the idempotency key made job ${jobId}, which has finished and is no longer retained; nothing was enqueued`);
  }
}
