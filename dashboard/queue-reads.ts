// Engine-specific reads the engine seam does not offer: recent throughput, lookup by idempotency key and
// by job kind. BullMQ reads go through the dashboard's own Redis connection; other engines plug in here.

import type { Redis } from 'ioredis';
import type { Engine, JobView } from '../core/engine.ts';
import { idempotencyJobId } from '../core/engines/bullmq/engine.ts';
import { idempotencyUuid } from '../core/engines/pgboss/ids.ts';
import { catalog, isJobName } from '../workers/catalog.ts';

export interface RecentCounts {
  completed: number;
  failed: number;
}

export interface QueueReads {
  /** jobs finished in the last `windowMs`, or null when the engine cannot tell */
  finishedSince(queue: string, windowMs: number): Promise<RecentCounts | null>;
  byIdempotencyKey(kind: string, key: string): Promise<JobView | null>;
  /** newest jobs of a kind still held by the queue (at most `limit`) */
  byKind(kind: string, limit: number): Promise<JobView[]>;
}

/**
 * BullMQ keeps finished jobs in the `completed` and `failed` sorted sets scored by finish time, so a
 * ZCOUNT over the window is exact while retention (RETENTION_*_SECONDS, at least an hour by default)
 * keeps them. `failed` holds final failures only (dead-lettered or cancelled), not retried attempts.
 */
export function bullmqQueueReads(redis: Redis, prefix: string, engine: Engine): QueueReads {
  return {
    async finishedSince(queue, windowMs) {
      const since = Date.now() - windowMs;
      const [completed, failed] = await Promise.all([
        redis.zcount(`${prefix}:${queue}:completed`, since, '+inf'),
        redis.zcount(`${prefix}:${queue}:failed`, since, '+inf'),
      ]);
      return { completed, failed };
    },
    async byIdempotencyKey(kind, key) {
      if (!isJobName(kind)) return null;
      return engine.getJob(idempotencyJobId(kind, key));
    },
    async byKind(kind, limit) {
      if (!isJobName(kind)) return [];
      const base = `${prefix}:${catalog[kind].queue}`;
      const pipe = redis.pipeline();
      pipe.lrange(`${base}:active`, 0, 199);
      pipe.lrange(`${base}:wait`, 0, 199);
      pipe.zrevrange(`${base}:prioritized`, 0, 199);
      pipe.zrevrange(`${base}:delayed`, 0, 199);
      pipe.zrevrange(`${base}:failed`, 0, 199);
      pipe.zrevrange(`${base}:completed`, 0, 199);
      const ids = ((await pipe.exec()) ?? []).flatMap(([, v]) => (Array.isArray(v) ? (v as string[]) : []));
      const names = await Promise.all(ids.map((id) => redis.hget(`${base}:${id}`, 'name')));
      const matching = ids.filter((_id, i) => names[i] === kind).slice(0, limit);
      const jobs = await Promise.all(matching.map((id) => engine.getJob(id)));
      return jobs.filter((j): j is JobView => j !== null).sort((a, b) => b.createdAt.localeCompare(a.createdAt));
    },
  };
}

export function queueReadsFor(engine: Engine, redis: Redis | undefined, prefix: string): QueueReads {
  if (engine.kind === 'bullmq' && redis) return bullmqQueueReads(redis, prefix, engine);
  // pgboss: the job id of an idempotent enqueue is derived from kind and key; the rest is not offered yet
  return {
    finishedSince: async () => null,
    byIdempotencyKey: async (kind, key) => (engine.kind === 'pgboss' && isJobName(kind) ? engine.getJob(idempotencyUuid(kind, key)) : null),
    byKind: async () => [],
  };
}
