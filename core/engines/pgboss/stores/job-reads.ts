// JobReads on pg-boss: an idempotent enqueue's job id is derived from kind and key, so the lookup is one
// getJob; search, count and jobs by kind are one statement over the job table (../search.ts). Recent
// throughput is not offered yet (the dashboard shows "-").
import type { JobReads } from '../../../stores.ts';
import type { PgbossEngine } from '../engine.ts';
import { idempotencyUuid } from '../ids.ts';

export function pgbossJobReads(engine: PgbossEngine): JobReads {
  return {
    finishedSince: async () => null,
    byIdempotencyKey: (kind, key) => engine.getJob(idempotencyUuid(kind, key)),
    byKind: async (kind, queue, limit) =>
      (await engine.search({ queues: [queue], kinds: [kind], states: null, since: null, until: null, data: [], limit, cursor: null })).jobs,
    search: (query) => engine.search(query),
    count: (filter) => engine.countJobs(filter),
  };
}
