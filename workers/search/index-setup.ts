// Idempotent cluster setup for the registered indexes: put each index template, and make sure the
// alias exists (first time: create `<alias>-v1` with the alias). Run by the release step and, lazily
// (template only if missing), by the search worker before its first write to an alias and by reindex.
import { type Client, errors } from '@elastic/elasticsearch';
import { AliasConflictError } from './alias-conflict-error.ts';
import type { SearchIndexDefinition } from './indexes.ts';
import { aliasName, versionedIndexName, versionedIndexPattern } from './names.ts';

export async function putIndexTemplate(client: Client, prefix: string, def: SearchIndexDefinition, signal?: AbortSignal) {
  const alias = aliasName(prefix, def.name);
  await client.indices.putIndexTemplate(
    {
      name: alias,
      index_patterns: [versionedIndexPattern(alias)],
      priority: 200,
      template: def.template as never,
      _meta: { managed_by: 'conveyor', file: def.templateFile },
    },
    { signal },
  );
}

/** Make sure `<prefix>-<name>` is an alias over a versioned index. Returns what it did. */
export async function ensureAlias(
  client: Client,
  prefix: string,
  def: SearchIndexDefinition,
  signal?: AbortSignal,
): Promise<'exists' | 'created'> {
  const alias = aliasName(prefix, def.name);
  if (await client.indices.existsAlias({ name: alias }, { signal })) return 'exists';
  if (await client.indices.exists({ index: alias }, { signal })) {
    throw new AliasConflictError(
      `"${alias}" is a concrete index, not an alias (a write reached the cluster before setup and auto-created it); delete or reindex it, then run the release step`,
    );
  }
  const first = versionedIndexName(alias, 1);
  try {
    await client.indices.create({ index: first, aliases: { [alias]: {} } }, { signal });
    return 'created';
  } catch (err) {
    if (!(err instanceof errors.ResponseError && err.body?.error?.type === 'resource_already_exists_exception')) throw err;
    // Another process created it at the same moment (create with aliases is atomic), or v1 exists
    // without the alias (an interrupted setup): make sure the alias is there.
    if (await client.indices.existsAlias({ name: alias }, { signal })) return 'exists';
    await client.indices.updateAliases({ actions: [{ add: { index: first, alias } }] }, { signal });
    return 'created';
  }
}

/**
 * Template and alias. `overwrite` (the release step) puts the template from this code version; without
 * it (workers, reindex) a template already on the cluster is left alone, so a worker of an older
 * version that restarts after a release cannot put its older mappings back.
 */
export async function setupIndex(
  client: Client,
  prefix: string,
  def: SearchIndexDefinition,
  opts: { overwrite: boolean; signal?: AbortSignal },
) {
  const { signal } = opts;
  if (opts.overwrite || !(await client.indices.existsIndexTemplate({ name: aliasName(prefix, def.name) }, { signal }))) {
    await putIndexTemplate(client, prefix, def, signal);
  }
  return ensureAlias(client, prefix, def, signal);
}
