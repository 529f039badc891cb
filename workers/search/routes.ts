// GET /v1/search/status: is search configured, what the search queue holds, and per index which
// versioned index the alias points at and whether a rebuild is running. Keys that may manage the
// search queue (or admin) only.
import type { Client } from '@elastic/elasticsearch';
import { ApiError } from '../../core/http/api-error.ts';
import { err, ok } from '../../core/http/openapi.ts';
import { mayManageQueue, principalOf } from '../../core/http/principal.ts';
import { type RouteTable, route } from '../../core/http/route.ts';
import { createSearchClient, NOT_CONFIGURED } from './client.ts';
import type { SearchConfig } from './config.ts';
import { searchIndexNames } from './kinds.ts';
import { aliasName, buildingAliasName } from './names.ts';

async function aliasTargets(client: Client, name: string): Promise<string[]> {
  if (!(await client.indices.existsAlias({ name }))) return [];
  return Object.keys(await client.indices.getAlias({ name }));
}

export const searchRoutes: RouteTable<SearchConfig> = ({ engine, config }) => {
  const client = createSearchClient({ ...config, SEARCH_REQUEST_TIMEOUT_MS: Math.min(config.SEARCH_REQUEST_TIMEOUT_MS, 5_000) });
  return [
    route({
      method: 'get',
      path: '/v1/search/status',
      auth: 'key',
      summary: 'Search indexing: configured?, queue counts, aliases being rebuilt',
      responses: { '200': ok('status'), '403': err('needs admin or queue:search') },
      handle: async (req, res) => {
        const principal = principalOf(req);
        if (!mayManageQueue(principal, 'search'))
          throw new ApiError(403, 'forbidden', `key "${principal.name}" may not read the search queue`);
        const [queue] = await engine.queueInfo(['search']);
        if (!client) {
          res.json({ configured: false, consumed: false, reason: NOT_CONFIGURED, queue });
          return;
        }
        let indexes: unknown;
        let error: string | undefined;
        try {
          indexes = await Promise.all(
            searchIndexNames.map(async (name) => {
              const alias = aliasName(config.SEARCH_INDEX_PREFIX, name);
              const [live, building] = await Promise.all([aliasTargets(client, alias), aliasTargets(client, buildingAliasName(alias))]);
              return { name, alias, indices: live, rebuilding: building[0] ?? null };
            }),
          );
        } catch (err) {
          error = `Elasticsearch did not answer: ${(err as Error).message}`;
        }
        res.json({ configured: true, reason: error ?? null, queue, indexes: indexes ?? null });
      },
    }),
  ];
};
