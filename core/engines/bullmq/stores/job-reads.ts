// JobReads on BullMQ's own keys. Finished jobs sit in the `completed` and `failed` sorted sets scored by
// finish time, so a ZCOUNT over the window is exact while retention (RETENTION_*_SECONDS, at least an hour
// by default) keeps them. `failed` holds final failures only (dead-lettered or cancelled), not retried attempts.
// Search and count walk the engine's search index (../search.ts).
import type { Redis } from 'ioredis';
import type { JobView } from '../../../engine.ts';
import type { JobReads } from '../../../stores.ts';
import { type BullmqEngine, idempotencyJobId } from '../engine.ts';

/** `redis` is borrowed: the backend owns it */
export function bullmqJobReads(redis: Redis, prefixOf: (queue: string) => string, engine: BullmqEngine): JobReads {
  return {
    async finishedSince(queue, windowMs) {
      const since = Date.now() - windowMs;
      const [completed, failed] = await Promise.all([
        redis.zcount(`${prefixOf(queue)}:${queue}:completed`, since, '+inf'),
        redis.zcount(`${prefixOf(queue)}:${queue}:failed`, since, '+inf'),
      ]);
      return { completed, failed };
    },
    byIdempotencyKey: (kind, key) => engine.getJob(idempotencyJobId(kind, key)),
    async byKind(kind, queue, limit) {
      const base = `${prefixOf(queue)}:${queue}`;
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
    search: (query) => engine.searchIndex.search((id, queue) => engine.getJob(id, [queue]), query),
    count: (filter) => engine.searchIndex.count(filter),
  };
}
