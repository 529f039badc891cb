// Enqueue: a request as pg-boss send options and stored data (our meta beside the payload), one job
// (optionally inside the caller's transaction) or many in one insert per queue.
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { SendOptions } from 'pg-boss';
import type { EnqueueRequest, EnqueueResult, JobView } from '../../engine.ts';
import { assertWithinDeadline, committing } from '../../errors/store-unavailable.ts';
import { joinEnvelope } from '../shared.ts';
import { asBossDb, type PgbossContext, type StoredMeta, toBossPriority, transaction, withClient } from './context.ts';
import { idempotencyUuid, toUuid } from './ids.ts';
import { getJob, getJobsByUuid } from './reads.ts';

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
    deleteAfterSeconds: Math.max(1, retentionOf(ctx, req).completedSeconds),
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

/**
 * The retention a job is stored with. A job with an idempotency key is never trimmed by count and kept at
 * least IDEMPOTENCY_TTL_SECONDS whatever its kind's retention: a repeated key finds it for the whole TTL.
 */
export function retentionOf(ctx: Pick<PgbossContext, 'idempotencyTtlSeconds'>, req: EnqueueRequest): EnqueueRequest['retention'] {
  if (req.idempotencyKey === undefined) return req.retention;
  const ttl = ctx.idempotencyTtlSeconds;
  return { completedSeconds: Math.max(req.retention.completedSeconds, ttl), failedSeconds: Math.max(req.retention.failedSeconds, ttl) };
}

export function envelope(
  ctx: Pick<PgbossContext, 'idempotencyTtlSeconds'>,
  req: EnqueueRequest,
  external?: string,
): Record<string, unknown> {
  // completedSeconds is the row's deletion_seconds already: the envelope carries what the row cannot
  // (a smaller row and one GIN entry less per row version; docs/benchmarks.md, pg-boss drain)
  const { completedSeconds: _inRow, ...retention } = retentionOf(ctx, req);
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
 * Without one, the INSERT is sent on a client of its own only once that client is in hand and the
 * caller's deadline has not passed (a request that waited past it for a connection has been answered
 * 503 and must store nothing), and is marked in flight until its answer.
 */
export async function enqueueWith(ctx: PgbossContext, req: EnqueueRequest, client: pg.ClientBase | undefined): Promise<EnqueueResult> {
  await ctx.start();
  const { id, external } = idsFor(req);
  const now = Date.now();
  const options = sendOptions(ctx, req, id, now);
  const data = envelope(ctx, req, external);
  const created = client
    ? await ctx.boss.send(req.queue, data, { ...options, db: asBossDb(client) })
    : await withClient(ctx.pool, (own) => {
        assertWithinDeadline('enqueue');
        return committing(ctx.boss.send(req.queue, data, { ...options, db: asBossDb(own) }));
      });
  if (created === null) {
    // the (queue, id) primary key already holds this job: a repeated idempotency key or job id
    const existing = await getJob(ctx, external ?? id, [req.queue], client ? (t, v) => client.query(t, v) : undefined);
    if (existing) return { job: existing, created: false };
    throw new Error(`job ${external ?? id} was neither created nor found`);
  }
  return { job: freshView(req, now, id, external), created: true };
}

/**
 * Many jobs in one transaction: one INSERT per queue (pg-boss's insert, ON CONFLICT DO NOTHING, through the
 * transaction's client), committed together or not at all, so a crash or a 503 mid-request stores nothing.
 * A key or id that exists already is skipped by the insert and answered with its job (created: false).
 */
export async function enqueueMany(ctx: PgbossContext, reqs: EnqueueRequest[]): Promise<EnqueueResult[]> {
  await ctx.start();
  const planned = reqs.map((req) => ({ req, ...idsFor(req) }));
  const firstOf = new Map<string, number>();
  const byQueue = new Map<string, typeof planned>();
  planned.forEach((p, i) => {
    const k = `${p.req.queue}\0${p.id}`;
    if (firstOf.has(k)) return; // repeated within the request: answered by its first occurrence
    firstOf.set(k, i);
    byQueue.set(p.req.queue, [...(byQueue.get(p.req.queue) ?? []), p]);
  });
  const now = Date.now();
  const inserted = (await transaction(
    ctx.pool,
    async (client) => {
      const ids = new Set<string>();
      for (const [queue, ps] of byQueue) {
        const rows = await ctx.boss.insert(
          queue,
          ps.map((p) => ({ ...sendOptions(ctx, p.req, p.id, now), data: envelope(ctx, p.req, p.external) })),
          { db: asBossDb(client), returnId: true },
        );
        for (const id of rows ?? []) ids.add(id);
      }
      return ids;
    },
    'enqueue',
  )) as Set<string>;
  const isFirst = (p: (typeof planned)[number], i: number) => firstOf.get(`${p.req.queue}\0${p.id}`) === i;
  const skipped = planned.filter((p, i) => isFirst(p, i) && !inserted.has(p.id));
  const found = await getJobsByUuid(
    ctx,
    skipped.map((p) => p.id),
    [...new Set(skipped.map((p) => p.req.queue))],
  );
  const results = planned.map((p, i): EnqueueResult | undefined => {
    if (!isFirst(p, i)) return undefined;
    if (inserted.has(p.id)) return { job: freshView(p.req, now, p.id, p.external), created: true };
    const existing = found.get(p.id);
    if (!existing) throw new Error(`job ${p.external ?? p.id} was neither created nor found`);
    return { job: existing, created: false };
  });
  return planned.map((p, i) => {
    const r = results[i];
    if (r) return r;
    return { job: (results[firstOf.get(`${p.req.queue}\0${p.id}`) as number] as EnqueueResult).job, created: false };
  });
}

/** A debounced repeat: the still-delayed job `req.jobId` takes `req`'s data and runs `req.delayMs` from now. */
export async function replaceDelayed(ctx: PgbossContext, req: EnqueueRequest): Promise<JobView | null> {
  const { id, external } = idsFor(req);
  const { rows } = await ctx.q(ctx.sql['replace-delayed'], [req.queue, id, JSON.stringify(envelope(ctx, req, external)), req.delayMs]);
  return rows.length === 0 ? null : getJob(ctx, id, [req.queue]);
}
