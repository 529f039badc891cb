// The official Elasticsearch client, configured from env. Undefined when ELASTICSEARCH_URL is unset:
// the search queue is then not consumed (workers/search/README.md).
import { Client } from '@elastic/elasticsearch';
import type { SearchConfig } from './config.ts';

export type SearchClientConfig = Pick<SearchConfig, 'ELASTICSEARCH_URL' | 'ELASTICSEARCH_API_KEY' | 'SEARCH_REQUEST_TIMEOUT_MS'>;

export function createSearchClient(config: SearchClientConfig): Client | undefined {
  if (!config.ELASTICSEARCH_URL) return undefined;
  return new Client({
    node: config.ELASTICSEARCH_URL,
    auth: config.ELASTICSEARCH_API_KEY ? { apiKey: config.ELASTICSEARCH_API_KEY } : undefined,
    requestTimeout: config.SEARCH_REQUEST_TIMEOUT_MS,
    // the client retries connection errors and 502/503/504 itself; jobs retry the rest with backoff
    maxRetries: 2,
  });
}

/** The reason shown in logs, /readyz and GET /v1/search/status while search is not configured. */
export const NOT_CONFIGURED =
  'waiting for config: ELASTICSEARCH_URL is not set, so no worker consumes the search queue; search jobs wait and run once it is set';
