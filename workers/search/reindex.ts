// search.reindex: rebuild an index from its registered source into a new versioned index, then swap
// the alias atomically. The rule that keeps concurrent writes (workers/search/README.md):
//   1. create <alias>-v<n+1> (from the index template on the cluster: run the release step first when
//      the mappings changed) and, in the same call, the alias <alias>-building on it;
//   2. wait SEARCH_REINDEX_SETTLE_MS, so every indexer sees the building alias (it caches the lookup for
//      SEARCH_TARGETS_TTL_MS) and from then on writes each operation to the live alias AND the building alias;
//   3. stream the source (SQL over Postgres, a cursor) into the new index with external versions;
//      a source row and a live write for one id meet in the new index and the higher version wins;
//   4. one `_aliases` call: alias off the old index and onto the new one, building alias removed.
// Deletes leave tombstones; index.gc_deletes is raised on the new index while it builds so a tombstone
// outlives the rebuild and a source row older than the delete cannot bring the document back.
import { setTimeout as sleep } from 'node:timers/promises';
import { type Client, errors } from '@elastic/elasticsearch';
import pg from 'pg';
import QueryStream from 'pg-query-stream';
import type { Logger } from 'pino';
import { PermanentError, RetryLaterError } from '../../core/errors/index.ts';
import { AliasConflictError } from './alias-conflict-error.ts';
import { setupIndex } from './index-setup.ts';
import type { SearchIndexDefinition } from './indexes.ts';
import { aliasName, buildingAliasName, versionedIndexName, versionedIndexPattern, versionOfIndex } from './names.ts';

export interface ReindexDeps {
  client: Client;
  logger: Logger;
  prefix: string;
  sourceDatabaseUrl: string | undefined;
  settleMs: number;
  maxBytes: number;
  /** a building index older than this belongs to a dead reindex and may be removed */
  staleAfterMs: number;
  jobId: string;
  signal: AbortSignal;
  progress(p: object): Promise<void>;
}

export interface ReindexResult {
  alias: string;
  index: string;
  previous: string[];
  deleted: string[];
  rows: number;
  indexed: number;
  /** source rows older than a live write that arrived during the rebuild */
  stale: number;
  /** rows the new index refused (mapping errors); first few reasons */
  rejected: number;
  rejectedSamples: { id: string; reason: string }[];
}

interface SourceRow {
  id: string;
  version: string | number;
  document: Record<string, unknown>;
}

const isType = (err: unknown, type: string) => err instanceof errors.ResponseError && err.body?.error?.type === type;

async function indicesOf(client: Client, name: string, signal: AbortSignal): Promise<string[]> {
  if (!(await client.indices.existsAlias({ name }, { signal }))) return [];
  return Object.keys(await client.indices.getAlias({ name }, { signal }));
}

/** Remove a building index left by a crashed run of this job, or by a reindex that died long ago. */
async function clearStaleBuild(client: Client, building: string, deps: ReindexDeps) {
  for (const index of await indicesOf(client, building, deps.signal)) {
    const mapping = (await client.indices.getMapping({ index }, { signal: deps.signal })) as Record<
      string,
      { mappings: { _meta?: { conveyor?: { reindexJob?: string; startedAt?: number } } } }
    >;
    const meta = mapping[index]?.mappings?._meta?.conveyor;
    const mine = meta?.reindexJob === deps.jobId;
    const dead = meta?.startedAt === undefined || Date.now() - meta.startedAt > deps.staleAfterMs;
    if (!mine && !dead) {
      throw new RetryLaterError(`another reindex is filling ${index} (job ${meta?.reindexJob}); trying again later`, 60_000);
    }
    deps.logger.warn({ index, by: meta?.reindexJob }, 'removing the building index of an earlier, unfinished reindex');
    await client.indices.delete({ index }, { signal: deps.signal });
  }
}

async function* sourceRows(url: string, sql: string, signal: AbortSignal, counter: { rows: number }, onBatch: () => void) {
  const db = new pg.Client({ connectionString: url, application_name: 'conveyor search.reindex' });
  await db.connect();
  const stream = db.query(new QueryStream(sql, [], { batchSize: 1000 }));
  let cancelling: Promise<void> | undefined;
  // On cancel or timeout: stop the statement on the server (it may be waiting on a lock or mid-scan),
  // from a second connection, as pg_cancel_backend needs; then end the stream.
  const abort = () => {
    const pid = (db as unknown as { processID: number }).processID;
    cancelling = (async () => {
      const c = new pg.Client({ connectionString: url });
      try {
        await c.connect();
        await c.query('SELECT pg_cancel_backend($1)', [pid]);
      } finally {
        await c.end().catch(() => {});
      }
    })().catch(() => {});
    stream.destroy(signal.reason instanceof Error ? signal.reason : new Error('reindex aborted'));
  };
  signal.addEventListener('abort', abort, { once: true });
  try {
    for await (const row of stream as AsyncIterable<SourceRow>) {
      counter.rows++;
      if (counter.rows % 1000 === 0) onBatch();
      yield row;
    }
  } finally {
    signal.removeEventListener('abort', abort);
    stream.destroy();
    await cancelling;
    await db.end().catch(() => {});
  }
}

function externalVersion(row: SourceRow): number {
  const v = typeof row.version === 'string' ? Number(row.version) : row.version;
  if (!Number.isSafeInteger(v) || v < 0) {
    throw new PermanentError(
      `source row ${JSON.stringify(row.id)}: version must be a whole number from 0 to 2^53-1 (got ${JSON.stringify(row.version)})`,
    );
  }
  return v;
}

/** The new versioned index, born with the building alias on it (so live writes reach it from then on). */
async function createBuildingIndex(
  client: Client,
  o: { index: string; building: string; alias: string; gcDeletes: string; jobId: string; startedAt: number; signal: AbortSignal },
) {
  const { index, building, alias, signal } = o;
  try {
    await client.indices.create(
      {
        index,
        settings: { index: { refresh_interval: '-1', gc_deletes: o.gcDeletes } },
        mappings: { _meta: { conveyor: { reindexJob: o.jobId, startedAt: o.startedAt } } },
        aliases: { [building]: {} },
      },
      { signal },
    );
  } catch (err) {
    if (isType(err, 'resource_already_exists_exception') || isType(err, 'invalid_alias_name_exception')) {
      throw new RetryLaterError(`${index} appeared meanwhile: another reindex of ${alias} started; trying again later`, 60_000);
    }
    throw err;
  }
}

/** Stream the source rows into `index` with external versions; counts what the cluster refused. */
async function copySource(
  def: SearchIndexDefinition,
  index: string,
  deps: ReindexDeps,
  counter: { rows: number },
  rejectedSamples: { id: string; reason: string }[],
) {
  const { client, signal } = deps;
  const sourceDatabaseUrl = deps.sourceDatabaseUrl as string;
  let rejected = 0;
  let stale = 0;
  let throttled = 0;
  const progress = () => void deps.progress({ phase: 'copying', rows: counter.rows }).catch(() => {});
  const rows = sourceRows(sourceDatabaseUrl, def.sourceSql, signal, counter, progress);
  const helper = client.helpers.bulk<SourceRow>({
    datasource: rows,
    onDocument: (row) =>
      [{ index: { _index: index, _id: String(row.id), version: externalVersion(row), version_type: 'external' } }, row.document] as never,
    onDrop: (drop) => {
      const type = drop.error?.type;
      if (drop.status === 409 && type === 'version_conflict_engine_exception') {
        stale++;
        return;
      }
      if (drop.status === 429 || type === 'es_rejected_execution_exception') {
        throttled++;
        return;
      }
      rejected++;
      const id = String((drop.operation as { index?: { _id?: string } }).index?._id);
      if (rejectedSamples.length < 10) rejectedSamples.push({ id, reason: `${type ?? drop.status}: ${drop.error?.reason ?? 'rejected'}` });
    },
    flushBytes: deps.maxBytes,
    concurrency: 2,
    retries: 5,
    wait: 1_000,
  });
  const abort = () => helper.abort();
  signal.addEventListener('abort', abort, { once: true });
  let stats: Awaited<typeof helper>;
  try {
    stats = await helper;
  } finally {
    signal.removeEventListener('abort', abort);
  }
  if (signal.aborted) throw signal.reason;
  return { stats, stale, throttled, rejected };
}

/** Back to the template's refresh interval and tombstone lifetime, make everything visible, swap the alias. */
async function swapAlias(
  client: Client,
  def: SearchIndexDefinition,
  o: { index: string; alias: string; building: string; previous: string[]; signal: AbortSignal },
) {
  const { index, alias, building, previous, signal } = o;
  const tplIndex = (def.template.settings.index ?? {}) as Record<string, unknown>;
  await client.indices.putSettings(
    {
      index,
      settings: {
        index: { refresh_interval: (tplIndex.refresh_interval as string) ?? null, gc_deletes: (tplIndex.gc_deletes as string) ?? null },
      },
    },
    { signal },
  );
  await client.indices.refresh({ index }, { signal });
  await client.indices.updateAliases(
    {
      actions: [
        ...previous.map((p) => ({ remove: { index: p, alias } })),
        { add: { index, alias } },
        { remove: { index, alias: building } },
      ],
    },
    { signal },
  );
}

export async function reindex(def: SearchIndexDefinition, deps: ReindexDeps): Promise<ReindexResult> {
  const { client, signal, logger } = deps;
  if (!deps.sourceDatabaseUrl) throw new PermanentError('SEARCH_SOURCE_DATABASE_URL is not set: search.reindex has no source to read');
  const alias = aliasName(deps.prefix, def.name);
  const building = buildingAliasName(alias);
  const log = logger.child({ alias });

  // The new index gets the template on the cluster (the release step puts the current one); the alias
  // must exist and be an alias.
  try {
    await setupIndex(client, deps.prefix, def, { overwrite: false, signal });
  } catch (err) {
    if (err instanceof AliasConflictError) throw new PermanentError(err.message);
    throw err;
  }
  await clearStaleBuild(client, building, deps);
  const previous = await indicesOf(client, alias, signal);
  const existing = Object.keys(await client.indices.get({ index: versionedIndexPattern(alias) }, { signal }));
  const next = Math.max(0, ...existing.map((n) => versionOfIndex(alias, n) ?? 0)) + 1;
  const index = versionedIndexName(alias, next);
  const startedAt = Date.now();
  const gcDeletes = `${Math.ceil(deps.staleAfterMs / 1000)}s`;

  await createBuildingIndex(client, { index, building, alias, gcDeletes, jobId: deps.jobId, startedAt, signal });
  log.info({ index, previous, settleMs: deps.settleMs }, 'reindex: new index created, live writes now go to both');

  const counter = { rows: 0 };
  const rejectedSamples: { id: string; reason: string }[] = [];
  let rejected = 0;
  let stale = 0;
  try {
    // Every indexer must see the building alias before we read the source (see the header).
    await sleep(deps.settleMs, undefined, { signal });
    await deps.progress({ phase: 'copying', rows: 0 });
    const { stats, stale: st, throttled, rejected: rj } = await copySource(def, index, deps, counter, rejectedSamples);
    stale = st;
    rejected = rj;
    // the cluster kept pushing back: fail this run (the half-built index is removed); the job retries
    if (throttled > 0) throw new Error(`${throttled} of ${stats.total} documents were still rejected (429) after retries`);
    if (rejected > 0) log.warn({ rejected, samples: rejectedSamples }, 'reindex: the new index rejected some source rows');

    await swapAlias(client, def, { index, alias, building, previous, signal });
  } catch (err) {
    log.warn({ index, err: (err as Error).message }, 'reindex failed; removing the half-built index (the live alias is untouched)');
    await client.indices.delete({ index }, { ignore: [404] }).catch(() => {});
    throw err;
  }
  // Keep the index we swapped away from (rollback: point the alias back); drop older ones.
  const keep = new Set([index, ...previous]);
  const deleted = existing.filter((n) => !keep.has(n) && versionOfIndex(alias, n) !== null && (versionOfIndex(alias, n) as number) < next);
  if (deleted.length > 0) await client.indices.delete({ index: deleted.join(',') }, { ignore: [404] });
  const result: ReindexResult = {
    alias,
    index,
    previous,
    deleted,
    rows: counter.rows,
    indexed: counter.rows - stale - rejected,
    stale,
    rejected,
    rejectedSamples,
  };
  log.info({ ...result, rejectedSamples: undefined, ms: Date.now() - startedAt }, 'reindex: alias swapped');
  await deps.progress({ phase: 'done', rows: counter.rows });
  return result;
}
