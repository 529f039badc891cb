// JobReads on pg-boss: an idempotent enqueue's job id is derived from kind and key, so the lookup is one
// getJob; search, count and jobs by kind are one statement over the job table (../search.ts); the last
// hour's finished counts one count over it (sql/reads-finished-since.sql).
import type { JobReads } from '../../../stores.ts';
import type { PgbossEngine } from '../engine.ts';
import { idempotencyUuid } from '../ids.ts';
import { storeStatements } from './sql.ts';

export function pgbossJobReads(engine: PgbossEngine): JobReads {
  const sql = storeStatements(engine.schema);
  return {
    async finishedSince(queue, windowMs) {
      await engine.start();
      const { rows } = await engine.pool.query(sql['reads-finished-since'], [queue, windowMs / 1000]);
      return { completed: rows[0]?.completed ?? 0, failed: rows[0]?.failed ?? 0 };
    },
    byIdempotencyKey: (kind, key) => engine.getJob(idempotencyUuid(kind, key)),
    byKind: async (kind, queue, limit) =>
      (await engine.search({ queues: [queue], kinds: [kind], states: null, since: null, until: null, data: [], limit, cursor: null })).jobs,
    search: (query) => engine.search(query),
    count: (filter) => engine.countJobs(filter),
  };
}
