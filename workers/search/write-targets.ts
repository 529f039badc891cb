// Which aliases are being rebuilt right now (a `<alias>-building` alias exists). Writes to those go to the
// live alias and to the building index, so a rebuild misses nothing (workers/search/README.md). Cached per alias
// for SEARCH_TARGETS_TTL_MS; concurrent lookups of one alias share one request.
import type { Client } from '@elastic/elasticsearch';
import { buildingAliasName } from './names.ts';

export class WriteTargets {
  private readonly cache = new Map<string, { building: boolean; at: number }>();
  private readonly inFlight = new Map<string, Promise<boolean>>();

  constructor(
    private readonly client: Client,
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** the subset of `aliases` that have a rebuild in progress */
  async building(aliases: Iterable<string>): Promise<Set<string>> {
    const out = new Set<string>();
    await Promise.all(
      [...new Set(aliases)].map(async (alias) => {
        if (await this.isBuilding(alias)) out.add(alias);
      }),
    );
    return out;
  }

  private isBuilding(alias: string): Promise<boolean> {
    const hit = this.cache.get(alias);
    if (hit && this.now() - hit.at < this.ttlMs) return Promise.resolve(hit.building);
    let p = this.inFlight.get(alias);
    if (!p) {
      const at = this.now();
      p = this.client.indices
        .existsAlias({ name: buildingAliasName(alias) })
        .then((building) => {
          this.cache.set(alias, { building, at });
          return building;
        })
        .finally(() => this.inFlight.delete(alias));
      this.inFlight.set(alias, p);
    }
    return p;
  }

  /** forget what we know (after this process started or finished a rebuild) */
  invalidate(alias: string) {
    this.cache.delete(alias);
  }
}
