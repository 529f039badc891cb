// Dead letters: queue `<q>-dlq` beside each queue, rows under the dead job's id. We write ours (the job
// failed for good, in the same transaction as the letter); pg-boss copies jobs there itself when they die
// by heartbeat or expiry. Listing reads both kinds; replay re-sends the job under its own id.
import type { SendOptions } from 'pg-boss';
import type { AttemptRecord, ConsumedJob, DeadLetter, JobView } from '../../engine.ts';
import { deadLetterOf, dlqName, errorJson } from '../shared.ts';
import { asBossDb, LETTER_KEY, type Output, type PgbossContext, type StoredLetter, splitData, transaction } from './context.ts';
import { toUuid } from './ids.ts';
import { getJob } from './reads.ts';

interface FailedRow {
  data: Record<string, unknown>;
  priority: number;
  retry_limit: number;
  expire_seconds: number;
  deletion_seconds: number;
  attempts: AttemptRecord[];
}

interface LetterRow {
  id: string;
  name: string;
  data: Record<string, unknown>;
  created_on: Date;
  source_id: string | null;
  source_output: Output | null;
}

/**
 * Fail the job for good and write its dead letter, in one transaction; nothing happens when the row is
 * no longer ours (not `active`: cancelled, or re-run elsewhere after a lapsed heartbeat).
 */
export async function deadLetter(
  ctx: PgbossContext,
  uuid: string,
  job: Pick<ConsumedJob, 'id' | 'name' | 'queue'>,
  failure: { reason: string; error: Error; attempt: AttemptRecord },
) {
  const { queue } = job;
  const written = await transaction(ctx.pool, async (client) => {
    const err = JSON.stringify(errorJson(failure.error));
    const { rows } = await client.query(ctx.sql['fail-dead'], [queue, uuid, err, JSON.stringify([failure.attempt])]);
    const row = rows[0] as FailedRow | undefined;
    if (!row) return null;
    const { payload } = splitData(row.data);
    const letter: StoredLetter = {
      [LETTER_KEY]: true,
      ...deadLetterOf({ id: job.id, name: job.name, queue, payload }, failure.reason, failure.error, row.attempts),
      raw: row.data,
      send: {
        priority: row.priority,
        retryLimit: row.retry_limit,
        retryDelay: 0,
        expireInSeconds: row.expire_seconds,
        deleteAfterSeconds: row.deletion_seconds,
        heartbeatSeconds: ctx.bossHeartbeatSeconds,
      },
    };
    await ctx.boss.send(dlqName(queue), letter as unknown as object, {
      id: uuid,
      retentionSeconds: ctx.deadLetterRetentionSeconds,
      db: asBossDb(client),
    });
    return true;
  });
  if (written) ctx.log.warn({ jobId: job.id, kind: job.name, queue, reason: failure.reason }, 'job dead-lettered');
}

/** A DLQ row as a DeadLetter: ours carry the letter; pg-boss's own copies (heartbeat/expiry deaths) carry the job. */
function letterOf(row: LetterRow): DeadLetter {
  if (row.data && LETTER_KEY in row.data) {
    const { [LETTER_KEY]: _l, raw: _r, send: _s, ...letter } = row.data as unknown as StoredLetter;
    return letter as DeadLetter;
  }
  const { payload, meta } = splitData(row.data);
  const out = row.source_output ?? {};
  const message = out.error?.message ?? (out as { message?: string }).message ?? 'worker stopped responding (heartbeat or expiry)';
  return {
    id: meta.id ?? row.source_id ?? row.id,
    name: meta.kind,
    queue: row.name.replace(/-dlq$/, ''),
    data: payload,
    reason: 'stalled: the worker stopped responding on the last attempt',
    error: out.error ?? { message },
    attempts: out.attempts ?? [],
    deadAt: row.created_on.toISOString(),
  };
}

export async function listDeadLetters(ctx: PgbossContext, queues: string[], limit: number): Promise<DeadLetter[]> {
  await ctx.start();
  const { rows } = await ctx.q(ctx.sql['list-dead-letters'], [queues.map(dlqName), limit]);
  return (rows as LetterRow[]).map(letterOf);
}

/** Re-send a dead job under its own id with fresh attempts; null when no letter names it. */
export async function replayDeadLetter(ctx: PgbossContext, id: string, queues: string[]): Promise<JobView | null> {
  await ctx.start();
  const uuid = toUuid(id);
  const queue = await transaction(ctx.pool, async (client) => {
    const { rows } = await client.query(ctx.sql['take-dead-letter'], [queues.map(dlqName), uuid]);
    const row = rows[0] as { id: string; name: string; data: Record<string, unknown>; source_id: string | null } | undefined;
    if (!row) return null;
    const queue = row.name.replace(/-dlq$/, '');
    const ours = LETTER_KEY in row.data;
    const raw = ours ? (row.data as unknown as StoredLetter).raw : row.data;
    const { meta } = splitData(raw);
    const send: SendOptions = ours
      ? (row.data as unknown as StoredLetter).send
      : { retryLimit: Math.max(0, (meta.maxAttempts ?? 1) - 1), retryDelay: 0, heartbeatSeconds: ctx.bossHeartbeatSeconds };
    // the dead job still sits in the queue as `failed` under this id: remove it so the replay can reuse it
    await client.query(ctx.sql['delete-job'], [queue, uuid]);
    await ctx.boss.send(queue, raw, { ...send, id: uuid, db: asBossDb(client) });
    return queue;
  });
  if (queue === null) return null;
  ctx.log.info({ jobId: id, queue }, 'dead letter replayed');
  return getJob(ctx, id, [queue]);
}
