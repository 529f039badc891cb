// Reads the engine seam does not offer (recent throughput, lookup by idempotency key and by job kind), from
// the backend's job reads; job kinds are checked against the catalog here.
import type { JobView } from '../core/engine.ts';
import type { JobReads } from '../core/stores.ts';
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

export function queueReads(reads: JobReads): QueueReads {
  return {
    finishedSince: (queue, windowMs) => reads.finishedSince(queue, windowMs),
    byIdempotencyKey: async (kind, key) => (isJobName(kind) ? reads.byIdempotencyKey(kind, key) : null),
    byKind: async (kind, limit) => (isJobName(kind) ? reads.byKind(kind, catalog[kind].queue, limit) : []),
  };
}
