// Search indexing kinds: keep Elasticsearch indexes in step with the system of record.
// Handlers: workers/search/. Design notes: workers/search/README.md.
import { z } from 'zod';
import { job } from '../../core/kinds.ts';

/**
 * Indexes the platform knows. Each name has an index template (workers/search/templates/<name>.json)
 * and a rebuild source (workers/search/sources/<name>.sql). On the cluster the name becomes the alias
 * `<SEARCH_INDEX_PREFIX>-<name>` over versioned indices `<alias>-v<n>`.
 */
export const searchIndexNames = ['products'] as const;
export type SearchIndexName = (typeof searchIndexNames)[number];

/**
 * Concurrency must be at least SEARCH_BULK_MAX_ITEMS so one worker holds enough running jobs to fill a
 * `_bulk` request; twice that lets the next batch fill while one is in flight.
 */
export const searchQueues = {
  search: { concurrency: 200 },
} as const;

/** Elasticsearch's `_id` limit is 512 bytes. */
const documentId = z
  .string()
  .min(1)
  .refine((s) => Buffer.byteLength(s) <= 512, { message: 'expects at most 512 bytes (the Elasticsearch _id limit)' });

export const searchKinds = {
  'search.index': job({
    queue: 'search',
    description:
      'Upserts or deletes one document in a search index. Jobs are coalesced into `_bulk` requests; with `version` (external versioning) an older event never overwrites a newer document.',
    payload: z
      .strictObject({
        index: z.enum(searchIndexNames).describe('the index (alias) name'),
        operation: z.enum(['upsert', 'delete']),
        id: documentId.describe('the document id; used as the Elasticsearch `_id` as is'),
        document: z.record(z.string(), z.unknown()).optional().describe('the whole document (required for upsert)'),
        version: z
          .int()
          .min(0)
          .optional()
          .describe(
            'external version (e.g. the row version or change timestamp); a write whose version is not greater than the stored one is a no-op',
          ),
      })
      .refine((p) => p.operation !== 'upsert' || p.document !== undefined, { path: ['document'], message: 'is required for upsert' })
      .refine((p) => p.operation !== 'delete' || p.document === undefined, { path: ['document'], message: 'must be left out for delete' }),
    defaults: { attempts: 10, backoff: { baseMs: 1000, capMs: 5 * 60_000, jitter: 'full' }, timeoutMs: 120_000 },
  }),
  'search.reindex': job({
    queue: 'search',
    description:
      'Rebuilds an index from its registered source into a new versioned index, then swaps the alias atomically. Writes that arrive meanwhile go to both indices.',
    payload: z.strictObject({
      index: z.enum(searchIndexNames).describe('the index (alias) to rebuild'),
    }),
    defaults: { attempts: 3, backoff: { baseMs: 30_000, capMs: 10 * 60_000, jitter: 'full' }, timeoutMs: 6 * 3_600_000 },
  }),
};
