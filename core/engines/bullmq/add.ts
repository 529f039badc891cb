// Enqueue on BullMQ as one atomic write (docs/reliability.md "Honest answers"): a request's jobs go to Redis
// in one MULTI (standalone) or one MULTI per queue (Redis Cluster: each queue is its own hash slot, keys.ts),
// on the `writer` connection, which queues nothing offline and re-sends nothing after a reconnect. Each MULTI
// holds, per job, an EXISTS of its key when its id is the caller's (idempotency key, deterministic id: a racing
// request may have made it), BullMQ's own add script (a no-op for an id that exists) and its search-index
// entry. So a job and its index entry are written together or not at all, a request answered 503 stored
// nothing, and `created` is what Redis saw: true only for the request whose add made the job.
import { Job, type Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { EnqueueRequest, JobView } from '../../engine.ts';
import { IdempotencyKeyUsedError } from '../../errors/key-expired-error.ts';
import { assertWithinDeadline, committing, deadlineLeftMs, StoreUnavailableError } from '../../errors/store-unavailable.ts';
import type { SearchIndex } from './search.ts';

/** One job to add: its request, id, stored data and options. */
export interface Planned {
  req: EnqueueRequest;
  id: string;
  /** the id is the caller's (a key or a deterministic id): it may exist already */
  fixed: boolean;
  data: Record<string, unknown>;
  opts: Parameters<Queue['add']>[2];
}

export interface Added {
  job: Job;
  /** false: the id existed when the MULTI ran (BullMQ's add was a no-op) */
  created: boolean;
}

export interface Writer {
  /** the writer connection (fail fast) */
  connection: Redis;
  /** a BullMQ Queue on the writer connection */
  queue(name: string): Queue;
  prefixOf(queue: string): string;
  search: SearchIndex;
  /** Redis Cluster: one MULTI per queue */
  cluster: boolean;
}

/** how long an enqueue without a deadline of its own (a worker's follow-up) waits for the writer to connect */
const READY_WAIT_MS = 5_000;

/** Resolve once the writer is connected; StoreUnavailableError when it is not within the deadline. */
export async function writerReady(conn: Redis): Promise<void> {
  if (conn.status === 'ready') return;
  const ms = Math.max(0, Math.min(READY_WAIT_MS, deadlineLeftMs()));
  let timer: NodeJS.Timeout | undefined;
  let onReady: (() => void) | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      onReady = resolve;
      conn.once('ready', onReady);
      timer = setTimeout(() => reject(new StoreUnavailableError(`redis (writer) not connected (${conn.status})`)), ms);
    });
  } finally {
    clearTimeout(timer);
    if (onReady) conn.off('ready', onReady);
  }
}

type Tx = ReturnType<Redis['multi']> & { exists(key: string): unknown };

/** Add every planned job: one MULTI (per queue on a cluster). Results in the order of `planned`. */
export async function addAtomically(w: Writer, planned: Planned[]): Promise<Added[]> {
  if (planned.length === 0) return [];
  await writerReady(w.connection);
  const byQueue = new Map<string, number[]>();
  planned.forEach((p, i) => {
    const list = byQueue.get(p.req.queue);
    if (list) list.push(i);
    else byQueue.set(p.req.queue, [i]);
  });
  const groups = w.cluster ? [...byQueue.values()] : [[...byQueue.values()].flat()];
  const out: Added[] = new Array(planned.length);
  const txs = await Promise.all(groups.map((g) => buildTx(w, planned, g, out)));
  assertWithinDeadline('enqueue');
  await committing(Promise.all(txs.map((t, k) => execTx(t, planned, groups[k] as number[], out))));
  const counts = new Map([...byQueue].map(([queue, idx]) => [queue, idx.length]));
  w.search.sweepAfter(counts, () => {}); // a failed sweep is retried by the next enqueue's, from the same cursor
  return out;
}

interface Built {
  tx: Tx;
  /** per planned index: position of its EXISTS replies (job, key record; -1: none) and of its add reply */
  at: Map<number, { exists: number; held: number; add: number }>;
}

async function buildTx(w: Writer, planned: Planned[], idx: number[], out: Added[]): Promise<Built> {
  const first = planned[idx[0] as number] as Planned;
  const client = (await (w.queue(first.req.queue).backend as unknown as { client: Promise<{ multi(): Tx }> }).client) as {
    multi(): Tx;
  };
  const tx = client.multi();
  const at = new Map<number, { exists: number; held: number; add: number }>();
  const jobsOf = new Map<string, Job[]>();
  let n = 0;
  for (const i of idx) {
    const p = planned[i] as Planned;
    const q = w.queue(p.req.queue);
    const job = new Job(q, p.req.name, p.data, p.opts, p.id);
    let exists = -1;
    let held = -1;
    if (p.fixed) {
      tx.exists(`${w.prefixOf(p.req.queue)}:${p.req.queue}:${p.id}`);
      exists = n++;
    }
    if (p.opts?.deduplication) {
      tx.exists(dedupKey(w.prefixOf(p.req.queue), p));
      held = n++;
    }
    job.addJob(tx as never).catch(() => {}); // queued on the MULTI synchronously; its reply comes from exec
    at.set(i, { exists, held, add: n++ });
    out[i] = { job, created: true };
    const list = jobsOf.get(p.req.queue);
    if (list) list.push(job);
    else jobsOf.set(p.req.queue, [job]);
  }
  for (const [queue, jobs] of jobsOf) w.search.queueInto(tx, queue, jobs);
  return { tx, at };
}

async function execTx({ tx, at }: Built, planned: Planned[], idx: number[], out: Added[]) {
  const replies = await tx.exec();
  if (!replies) throw new StoreUnavailableError('enqueue: the MULTI was discarded');
  for (const i of idx) {
    const pos = at.get(i) as { exists: number; held: number; add: number };
    const [addErr, added] = replies[pos.add] ?? [new Error('no reply')];
    if (addErr) throw addErr;
    if (typeof added === 'number' && added < 0) throw new Error(`BullMQ refused job ${(planned[i] as Planned).id} (code ${added})`);
    if (pos.exists >= 0) {
      const [, existed] = replies[pos.exists] ?? [];
      const [, held] = pos.held >= 0 ? (replies[pos.held] ?? []) : [0, 0];
      // trimmed between findExisting and this MULTI (BullMQ's add made nothing: the key is held); the rare
      // race answers 409 although the MULTI's other jobs are stored: a keyed retry answers them
      if (existed === 0 && held === 1) throw new IdempotencyKeyUsedError((planned[i] as Planned).id);
      (out[i] as Added).created = existed === 0;
    }
  }
}

export interface ExistingDeps {
  /** the engine's command connection (reads) */
  commands: Redis;
  prefixOf(queue: string): string;
  /** the key of a cancelled job's tombstone */
  tombstoneKey(id: string): string;
  getJob(id: string, queue: string): Promise<JobView | null>;
}

/** BullMQ's deduplication key of a keyed job (its Lua: `<prefix>:<queue>:` .. "de:" .. id) */
const dedupKey = (prefix: string, p: Planned) => `${prefix}:${p.req.queue}:de:${p.opts?.deduplication?.id}`;

/**
 * The planned jobs whose id exists (or was cancelled while waiting: its tombstone), with their views.
 * A keyed job that is gone while its key is still held (trimmed by count within the TTL) throws
 * IdempotencyKeyUsedError: the job ran, a repeat must not make it again, and there is no job to answer.
 */
export async function findExisting(d: ExistingDeps, fixed: Planned[]): Promise<Map<Planned, JobView>> {
  const out = new Map<Planned, JobView>();
  if (fixed.length === 0) return out;
  const byQueue = new Map<string, Planned[]>();
  for (const p of fixed) byQueue.set(p.req.queue, [...(byQueue.get(p.req.queue) ?? []), p]);
  const gone: Planned[] = [];
  const [exists, tombs] = await Promise.all([
    // one pipeline per queue: on a cluster a pipeline's keys must share a slot
    Promise.all(
      [...byQueue].map(async ([queue, ps]) => {
        const pipe = d.commands.pipeline();
        // per job: EXISTS of the job, then (keyed) of its key's record
        const at: number[] = [];
        let n = 0;
        for (const p of ps) {
          at.push(n);
          pipe.exists(`${d.prefixOf(queue)}:${queue}:${p.id}`);
          n++;
          if (p.opts?.deduplication) {
            pipe.exists(dedupKey(d.prefixOf(queue), p));
            n++;
          }
        }
        const res = (await pipe.exec()) ?? [];
        const has = (k: number, off = 0) => res[(at[k] as number) + off]?.[1] === 1;
        ps.forEach((p, k) => {
          if (!has(k) && p.opts?.deduplication && has(k, 1)) gone.push(p);
        });
        return ps.filter((_, k) => has(k));
      }),
    ),
    d.commands.mget(...fixed.map((p) => d.tombstoneKey(p.id))),
  ]);
  fixed.forEach((p, k) => {
    const tomb = tombs[k];
    if (tomb) out.set(p, JSON.parse(tomb) as JobView);
  });
  const used = gone.find((p) => !out.has(p));
  if (used) throw new IdempotencyKeyUsedError(used.id);
  await Promise.all(
    exists.flat().map(async (p) => {
      const job = await d.getJob(p.id, p.req.queue);
      if (job) out.set(p, job);
    }),
  );
  return out;
}
