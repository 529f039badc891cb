// Handlers for search.index and search.reindex. Without ELASTICSEARCH_URL this module registers no
// handler, so the worker does not consume the search queue: jobs wait (visible in /readyz, in
// GET /v1/search/status and in the queue counts) and run once a worker starts with the URL set.
import type { Client } from '@elastic/elasticsearch';
import { backoffDelay } from '../../core/backoff.ts';
import { PermanentError, RetryLaterError } from '../../core/errors/index.ts';
import type { HandlerContext, HandlerDeps, HandlerSet, HandlersFor } from '../../core/handler.ts';
import type { PayloadOf } from '../../core/kinds.ts';
import { BulkBatcher } from './bulk-batcher.ts';
import { createSearchClient, NOT_CONFIGURED } from './client.ts';
import type { SearchConfig } from './config.ts';
import { setupIndex } from './index-setup.ts';
import { searchIndexes } from './indexes.ts';
import { type SearchIndexName, searchKinds, searchQueues } from './kinds.ts';
import { aliasName } from './names.ts';
import { reindex } from './reindex.ts';
import { WriteTargets } from './write-targets.ts';

type Kinds = typeof searchKinds;

export interface SearchHandlerSet extends HandlerSet<HandlersFor<Kinds>> {
  /** undefined when ELASTICSEARCH_URL is unset */
  client?: Client;
  batcher?: BulkBatcher;
}

export async function createSearchHandlers(deps: HandlerDeps<SearchConfig>): Promise<SearchHandlerSet> {
  const { config } = deps;
  const logger = deps.logger.child({ module: 'search' });
  const client = createSearchClient(config);
  if (!client) {
    if (Object.hasOwn(config.WORKER_QUEUES, 'search')) {
      // Named explicitly, the queue would be consumed with no handler and every job dead-lettered.
      throw new Error(
        'WORKER_QUEUES names the search queue but ELASTICSEARCH_URL is not set: set it, or leave search out of WORKER_QUEUES',
      );
    }
    logger.warn({ queue: 'search' }, `search queue not consumed: ${NOT_CONFIGURED}`);
    return { handlers: {}, close: async () => {} };
  }
  const concurrency = config.WORKER_QUEUES.search ?? searchQueues.search.concurrency;
  if (concurrency < config.SEARCH_BULK_MAX_ITEMS) {
    logger.warn(
      { concurrency, maxItems: config.SEARCH_BULK_MAX_ITEMS },
      'search queue concurrency is below SEARCH_BULK_MAX_ITEMS: a bulk request can never fill and waits SEARCH_BULK_WAIT_MS; raise it with WORKER_QUEUES=search:<n>',
    );
  }
  const targets = new WriteTargets(client, config.SEARCH_TARGETS_TTL_MS);
  const batcher = new BulkBatcher({
    client,
    targets,
    logger,
    maxItems: config.SEARCH_BULK_MAX_ITEMS,
    maxBytes: config.SEARCH_BULK_MAX_BYTES,
    waitMs: config.SEARCH_BULK_WAIT_MS,
  });

  const handlers = searchHandlers({ client, batcher, targets, config });

  return {
    client,
    batcher,
    handlers,
    close: async () => {
      await batcher.close();
      await client.close();
    },
  };
}

interface SearchParts {
  client: Client;
  batcher: BulkBatcher;
  targets: WriteTargets;
  config: SearchConfig;
}

function searchHandlers({ client, batcher, targets, config }: SearchParts): HandlersFor<Kinds> {
  const prefix = config.SEARCH_INDEX_PREFIX;
  // Templates and aliases are the release step's job; the first write to an alias makes sure of them
  // too, so a development setup (`npm start`, no release step) works. Once per alias per process.
  const ready = new Map<SearchIndexName, Promise<unknown>>();
  const ensure = (name: SearchIndexName) => {
    let p = ready.get(name);
    if (!p) {
      p = setupIndex(client, prefix, searchIndexes[name], { overwrite: false });
      p.catch(() => ready.delete(name));
      ready.set(name, p);
    }
    return p;
  };

  const indexPolicy = searchKinds['search.index'].defaults.backoff;
  return {
    'search.index': async (payload: PayloadOf<Kinds['search.index']>, ctx: HandlerContext) => {
      await ensure(payload.index);
      const alias = aliasName(prefix, payload.index);
      const outcome = await batcher.submit(
        { alias, operation: payload.operation, id: payload.id, document: payload.document, version: payload.version },
        ctx.signal,
      );
      switch (outcome.kind) {
        case 'done':
          return { index: outcome.index, id: payload.id, result: outcome.result, version: outcome.version ?? payload.version ?? null };
        case 'retry':
          if (outcome.rejected)
            throw new RetryLaterError(
              `Elasticsearch pushed back: ${outcome.reason}`,
              Math.max(500, backoffDelay(indexPolicy, ctx.attempt)),
            );
          throw new Error(outcome.reason);
        case 'permanent':
          throw new PermanentError(`Elasticsearch rejected document ${JSON.stringify(payload.id)}: ${outcome.reason}`);
      }
    },
    'search.reindex': async (payload: PayloadOf<Kinds['search.reindex']>, ctx: HandlerContext) => {
      const alias = aliasName(prefix, payload.index);
      try {
        return await reindex(searchIndexes[payload.index], {
          client,
          logger: ctx.log,
          prefix,
          sourceDatabaseUrl: config.SEARCH_SOURCE_DATABASE_URL,
          settleMs: config.SEARCH_REINDEX_SETTLE_MS,
          maxBytes: config.SEARCH_BULK_MAX_BYTES,
          staleAfterMs: searchKinds['search.reindex'].defaults.timeoutMs,
          jobId: ctx.jobId,
          signal: ctx.signal,
          progress: (p) => ctx.progress(p),
        });
      } finally {
        targets.invalidate(alias);
      }
    },
  };
}
