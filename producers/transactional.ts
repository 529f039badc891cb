// Transactional enqueue (pgboss engine): the job is written through the caller's own pg client, inside
// the caller's open transaction, so it exists only if that transaction commits. Workers are woken at
// commit (pg-boss's NOTIFY is transactional too). Same validation and defaults as POST /v1/jobs.
//
//   const backend = createBackend(config, logger, { queues: queueNames }); // QUEUE_ENGINE=pgboss, DATABASE_URL = your database
//   const client = await pool.connect();
//   await client.query('BEGIN');
//   await client.query('INSERT INTO orders ...');
//   await enqueueInTransaction(backend.transactional, client, 'email.send', { ... }, { idempotencyKey: `order-${id}` });
//   await client.query('COMMIT');                           // ROLLBACK: no order, no job
//
// The client must be connected to the database the engine uses (pg-boss's tables live in its schema there).
import type pg from 'pg';
import type { TransactionalEnqueuer } from '../core/backend.ts';
import type { EnqueueResult, JobMeta } from '../core/engine.ts';
import { ApiError } from '../core/http/api-error.ts';
import type { JobName, PayloadInput } from '../workers/catalog.ts';
import type { Config } from '../workers/config.ts';
import { type JobOptions, toEnqueueRequest, validateJob } from './enqueue.ts';

const DEFAULT_RETENTION = { RETENTION_COMPLETED_SECONDS: 86_400, RETENTION_FAILED_SECONDS: 604_800 };

/**
 * `engine`: the backend's `transactional` role (null on an engine that cannot; the pgboss engine itself
 * also fits). Throws ApiError(400, 'invalid_request') naming each bad field, like the HTTP API.
 */
export async function enqueueInTransaction<N extends JobName>(
  engine: TransactionalEnqueuer | null,
  client: pg.ClientBase,
  name: N,
  data: PayloadInput<N>,
  options: JobOptions = {},
  extra: { meta?: JobMeta; retention?: Pick<Config, 'RETENTION_COMPLETED_SECONDS' | 'RETENTION_FAILED_SECONDS'> } = {},
): Promise<EnqueueResult> {
  if (!engine) throw new Error('this engine cannot enqueue inside your transaction (QUEUE_ENGINE=pgboss can)');
  const v = validateJob({ name, data, options });
  if (!v.ok) throw new ApiError(400, 'invalid_request', 'the job request is invalid', v.details);
  const req = toEnqueueRequest(v.job, extra.retention ?? DEFAULT_RETENTION, extra.meta ?? {});
  return engine.enqueueWith(req, client);
}
