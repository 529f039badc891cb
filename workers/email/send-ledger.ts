// The send ledger: "this job's message was accepted by SMTP". Written after the SMTP server accepts and
// before the job completes, and read before every send, so a retry (crash, timeout, a failure after the
// send) never sends the same job's message twice. Keyed by job id: an idempotent job's id is derived from
// its idempotency key, so the key is covered too.
//
// It is the backend's once-ledger `email:sent` (core/stores.ts OnceLedger), in the engine's store:
// Redis `${QUEUE_PREFIX}:_conveyor:email:sent:<jobId>`, Postgres `<schema>.conveyor_email_sent`.
import type { Backend } from '../../core/backend.ts';
import type { OnceLedger } from '../../core/stores.ts';

export interface SendRecord {
  messageId: string;
  accepted: string[];
  rejected: string[];
  response: string;
  /** ISO time SMTP accepted the message */
  sentAt: string;
  attempt: number;
}

export type SendLedger = OnceLedger<SendRecord>;

export const sendLedger = (backend: Pick<Backend, 'ledger'>, ttlSeconds: number): SendLedger =>
  backend.ledger<SendRecord>('email:sent', { ttlSeconds });
