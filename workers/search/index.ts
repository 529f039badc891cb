// The search domain: `search.index` (coalesced into `_bulk` requests) and `search.reindex` (rebuild and
// swap the alias) keep Elasticsearch in step with the system of record. Doc: ./README.md.
import { defineDomain } from '../../core/domain.ts';
import { type SearchConfig, searchSection } from './config.ts';
import { searchKinds, searchQueues } from './kinds.ts';

export const searchDomain = defineDomain({
  name: 'search',
  doc: 'workers/search/README.md',
  config: searchSection,
  kinds: searchKinds,
  queues: searchQueues,
  handlers: async (deps) => (await import('./handlers.ts')).createSearchHandlers(deps),
  routes: async () => (await import('./routes.ts')).searchRoutes,
  readiness: async () => {
    const [{ searchReadinessCheck }, { postgresCheck }] = await Promise.all([
      import('./readiness.ts'),
      import('../../core/postgres-readiness.ts'),
    ]);
    return [searchReadinessCheck, postgresCheck<SearchConfig>('postgres (search source)', (c) => c.SEARCH_SOURCE_DATABASE_URL)];
  },
  release: async () => [(await import('./release.ts')).searchReleaseTask],
});
