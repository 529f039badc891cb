// The search domain's settings (workers/search/README.md).
import { z } from 'zod';
import { defineSection, httpUrl, int, type KernelConfig, postgresUrl, type SectionValues } from '../../core/config/index.ts';

export const searchSection = defineSection('search', {
  ELASTICSEARCH_URL: httpUrl().optional(),
  ELASTICSEARCH_API_KEY: z.string().min(1).optional(),
  SEARCH_INDEX_PREFIX: z
    .string()
    .regex(/^[a-z0-9][a-z0-9_-]{0,50}$/, { error: 'expects lowercase letters, digits, _ or -' })
    .default('conveyor'),
  SEARCH_BULK_MAX_ITEMS: int(1, 10_000).default(100),
  SEARCH_BULK_MAX_BYTES: int(1024, 100_000_000).default(5_000_000),
  SEARCH_BULK_WAIT_MS: int(0, 60_000).default(50),
  SEARCH_REQUEST_TIMEOUT_MS: int(100, 600_000).default(30_000),
  SEARCH_TARGETS_TTL_MS: int(0, 60_000).default(1_000),
  SEARCH_REINDEX_SETTLE_MS: int(0, 600_000).default(5_000),
  SEARCH_SOURCE_DATABASE_URL: postgresUrl().optional(),
});

/** What the search domain reads: the kernel's settings and its own. */
export type SearchConfig = KernelConfig & SectionValues<typeof searchSection.shape>;
