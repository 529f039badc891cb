// /readyz entry `elasticsearch`. Not configured → a note ("waiting for config"), not a failure: the
// web process takes jobs for every queue and search jobs wait, so the service stays ready. Configured
// but unreachable → down, like any other configured dependency.
import type { Client } from '@elastic/elasticsearch';
import type { ReadinessCheck } from '../../core/readiness.ts';
import { createSearchClient, NOT_CONFIGURED } from './client.ts';
import type { SearchConfig } from './config.ts';

let cached: { url: string; client: Client } | undefined;

export const searchReadinessCheck: ReadinessCheck<SearchConfig> = {
  name: 'elasticsearch',
  enabled: () => true,
  async check({ config }) {
    if (!config.ELASTICSEARCH_URL) return NOT_CONFIGURED;
    if (cached?.url !== config.ELASTICSEARCH_URL) {
      await cached?.client.close();
      cached = { url: config.ELASTICSEARCH_URL, client: createSearchClient(config) as Client };
    }
    await cached.client.ping({}, { requestTimeout: 1_500, maxRetries: 0 });
  },
};
