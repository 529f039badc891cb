// Enqueue: a request as pg-boss send options and stored data (our meta beside the payload), one job
// (optionally inside the caller's transaction) or many in one insert per queue.
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { SendOptions } from 'pg-boss';
import type { EnqueueRequest, EnqueueResult, JobView } from '../../engine.ts';
import { enqueueInBulk, joinEnvelope } from '../shared.ts';
import { asBossDb, type PgbossContext, type StoredMeta, toBossPriority } from './context.ts';
import { idempotencyUuid, toUuid } from './ids.ts';
import { getJob } from './reads.ts';

const MAX_EXPIRE_SECONDS = 24 * 3600;
/** pg-boss deletes jobs not started within `retentionSeconds` (14 days by default): ours wait until they run (~63 years) */
export const KEEP_WAITING_SECONDS = 2_000_000_000;

/** `now`: the enqueue's clock reading, shared with its fresh view so runAt is the stored start_after. */
export function sendOptions(ctx: PgbossContext, req: EnqueueRequest, id: string, now: number): SendOptions {
  return {
    id,
    priority: toBossPriority(req.priority),
    startAfter: req.delayMs > 0 ? new Date(now + req.delayMs) : undefined,
    retryLimit: Math.max(0, req.attempts - 1),
    retryDelay: 0,
    // our runtime enforces the timeout; expiry is only the backstop for a run nobody settles
    expireInSeconds: Math.min(MAX_EXPIRE_SECONDS, Math.ceil(req.timeoutMs / 1000) + 60),
    deleteAfterSeconds: Math.max(1, req.retention.completedSeconds),
    retentionSeconds: KEEP_WAITING_SECONDS,
    heartbeatSeconds: ctx.bossHeartbeatSeconds,
  };
}

/** The row's uuid, and the caller's id when it is not that uuid (a deterministic job id). */
export function idsFor(req: EnqueueRequest): { id: string; external?: string } {
  if (req.idempotencyKey !== undefined) return { id: idempotencyUuid(req.name, req.idempotencyKey) };
  if (req.jobId !== undefined) {
    const id = toUuid(req.jobId);
    return { id, external: id === req.jobId.toLowerCase() ? undefined : req.jobId };
  }
  return { id: randomUUID() };
}

export function envelope(req: EnqueueRequest, external?: string): Record<string, unknown> {
  // idempotent jobs are never trimmed by count: a repeated key must find its job for the whole TTL
  const retention =
    req.idempotencyKey === undefined
      ? req.retention
      : { completedSeconds: req.retention.completedSeconds, failedSeconds: req.retention.failedSeconds };
  const meta: StoredMeta = {
    ...req.meta,
    timeoutMs: req.timeoutMs,
    kind: req.name,
    maxAttempts: req.attempts,
    retention,
    priority: req.priority,
  };
  if (external !== undefined) meta.id = external;
  return joinEnvelope(req.data, meta);
}

/** The view of a job just created (no read back). */
function freshView(req: EnqueueRequest, now: number, id: string, external?: string): JobView {
  return {
    id: external ?? id,
    name: req.name,
    queue: req.queue,
    state: req.delayMs > 0 ? 'delayed' : 'waiting',
    priority: req.priority,
    data: req.data,
    attempts: { made: 0, max: req.attempts },
    progress: null,
    result: null,
    error: null,
    createdAt: new Date(now).toISOString(),
    startedAt: null,
    finishedAt: null,
    runAt: req.delayMs > 0 ? new Date(now + req.delayMs).toISOString() : null,
  };
}

/**
 * Enqueue through `client` (inside the caller's open transaction) when given: the job exists
 * only if that transaction commits, and workers are woken at commit (NOTIFY is transactional).
 */
export async function enqueueWith(ctx: PgbossContext, req: EnqueueRequest, client: pg.ClientBase | undefined): Promise<EnqueueResult> {
  await ctx.start();
  const { id, external } = idsFor(req);
  const now = Date.now();
  const created = await ctx.boss.send(req.queue, envelope(req, external), {
    ...sendOptions(ctx, req, id, now),
    ...(client ? { db: asBossDb(client) } : {}),
  });
  if (created === null) {
    // the (queue, id) primary key already holds this job: a repeated idempotency key or job id
    const existing = await getJob(ctx, external ?? id, [req.queue], client ? (t, v) => client.query(t, v) : undefined);
    if (existing) return { job: existing, created: false };
    throw new Error(`job ${external ?? id} was neither created nor found`);
  }
  return { job: freshView(req, now, id, external), created: true };
}

export async function enqueueMany(ctx: PgbossContext, reqs: EnqueueRequest[]): Promise<EnqueueResult[]> {
  await ctx.start();
  return enqueueInBulk(
    reqs,
    async (queue, plain) => {
      const ids = plain.map(() => randomUUID());
      const now = Date.now();
      await ctx.boss.insert(
        queue,
        plain.map((r, k) => ({ ...sendOptions(ctx, r, ids[k] as string, now), data: envelope(r) })),
        { returnId: false },
      );
      return plain.map((r, k) => ({ job: freshView(r, now, ids[k] as string), created: true }));
    },
    (req) => enqueueWith(ctx, req, undefined),
  );
}

/** A debounced repeat: the still-delayed job `req.jobId` takes `req`'s data and runs `req.delayMs` from now. */
export async function replaceDelayed(ctx: PgbossContext, req: EnqueueRequest): Promise<JobView | null> {
  const { id, external } = idsFor(req);
  const { rows } = await ctx.q(ctx.sql['replace-delayed'], [req.queue, id, JSON.stringify(envelope(req, external)), req.delayMs]);
  return rows.length === 0 ? null : getJob(ctx, id, [req.queue]);
}
