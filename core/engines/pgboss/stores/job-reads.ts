// JobReads on pg-boss: an idempotent enqueue's job id is derived from kind and key, so the lookup is one
// getJob. Recent throughput and jobs by kind are not offered yet (the dashboard shows "-" and none).
import type { JobReads } from '../../../stores.ts';
import type { PgbossEngine } from '../engine.ts';
import { idempotencyUuid } from '../ids.ts';

export function pgbossJobReads(engine: PgbossEngine): JobReads {
  return {
    finishedSince: async () => null,
    byIdempotencyKey: (kind, key) => engine.getJob(idempotencyUuid(kind, key)),
    byKind: async () => [],
  };
}
