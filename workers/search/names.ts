// Physical names on the cluster for a registered search index (workers/search/README.md).
//   alias    <prefix>-<name>             what every read and write uses
//   indices  <prefix>-<name>-v<n>        versioned; the alias points at exactly one
//   building <prefix>-<name>-building    alias on the index a running search.reindex fills
//   template <prefix>-<name>             index template, patterns <prefix>-<name>-v*

export const aliasName = (prefix: string, index: string) => `${prefix}-${index}`;
export const buildingAliasName = (alias: string) => `${alias}-building`;
export const versionedIndexName = (alias: string, n: number) => `${alias}-v${n}`;
export const versionedIndexPattern = (alias: string) => `${alias}-v*`;

/** `products-v7` → 7; null for names outside the pattern */
export function versionOfIndex(alias: string, index: string): number | null {
  const m = index.startsWith(`${alias}-v`) ? /^\d+$/.exec(index.slice(alias.length + 2)) : null;
  return m ? Number(m[0]) : null;
}
