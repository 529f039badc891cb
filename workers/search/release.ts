// Release step: put every index template and make sure each alias exists. Idempotent; a template
// change applies to indices created after it (run search.reindex to move existing data).
import type { ReleaseTask } from '../../core/release.ts';
import { createSearchClient } from './client.ts';
import type { SearchConfig } from './config.ts';
import { setupIndex } from './index-setup.ts';
import { searchIndexes } from './indexes.ts';
import { aliasName } from './names.ts';

export const searchReleaseTask: ReleaseTask<SearchConfig> = {
  name: 'elasticsearch index templates',
  enabled: (config) => config.ELASTICSEARCH_URL !== undefined,
  async run({ config, logger }) {
    const client = createSearchClient(config);
    if (!client) return;
    try {
      for (const def of Object.values(searchIndexes)) {
        const alias = await setupIndex(client, config.SEARCH_INDEX_PREFIX, def, { overwrite: true });
        logger.info(
          { index: def.name, alias: aliasName(config.SEARCH_INDEX_PREFIX, def.name), outcome: alias },
          'search index template applied',
        );
      }
    } finally {
      await client.close();
    }
  },
};
