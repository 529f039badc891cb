// The registered search indexes: each name in core/kinds/search.ts has an index template (settings +
// mappings, templates/<name>.json) and a rebuild source (sources/<name>.sql). Read once at import.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { type SearchIndexName, searchIndexNames } from './kinds.ts';

export interface SearchIndexDefinition {
  name: SearchIndexName;
  /** the `template` part of the index template: settings and mappings */
  template: { settings: Record<string, unknown>; mappings: Record<string, unknown> };
  /** SQL returning id, version, document; streamed by search.reindex */
  sourceSql: string;
  templateFile: string;
}

const templateFile = z.strictObject({
  settings: z.record(z.string(), z.unknown()).default({}),
  mappings: z.record(z.string(), z.unknown()),
});

function load(name: SearchIndexName): SearchIndexDefinition {
  const file = new URL(`./templates/${name}.json`, import.meta.url);
  const parsed = templateFile.safeParse(JSON.parse(readFileSync(file, 'utf8')));
  if (!parsed.success) throw new Error(`core/search/templates/${name}.json: ${parsed.error.message}`);
  const sourceSql = readFileSync(new URL(`./sources/${name}.sql`, import.meta.url), 'utf8');
  return { name, template: parsed.data, sourceSql, templateFile: `core/search/templates/${name}.json` };
}

export const searchIndexes: Record<SearchIndexName, SearchIndexDefinition> = Object.fromEntries(
  searchIndexNames.map((n) => [n, load(n)]),
) as Record<SearchIndexName, SearchIndexDefinition>;
