// Kinds declared without code, kept current in this process's kind registry (workers/catalog.ts): the
// KINDS_FILE entries (fixed at boot) and the runtime ones (PUT /v1/kinds/:name), read from the engine's
// store (RecordStore `http-kinds`) every KINDS_RELOAD_MS, so every replica (web, worker, scheduler) sees
// a change within about that time. The process that made the change refreshes at once.
import type { Logger } from 'pino';
import type { Backend } from '../core/backend.ts';
import type { KindDefinition } from '../core/kinds.ts';
import { kindRegistry } from './catalog.ts';
import type { Config } from './config.ts';
import { compileKind, type KindDeclaration, type StoredKind } from './http/declaration.ts';

export const KINDS_STORE = 'http-kinds';

export const kindStore = (backend: Backend) => backend.records<StoredKind>(KINDS_STORE);

/** KINDS_FILE's kinds by name (config already checked them). */
export function fileKinds(config: Pick<Config, 'KINDS_FILE'>): Record<string, KindDefinition> {
  return Object.fromEntries((config.KINDS_FILE ?? []).map((d) => [d.name, compileKind(d, 'file')]));
}

/** Is `name` one of KINDS_FILE's (not replaceable at runtime)? */
export const isFileKind = (config: Pick<Config, 'KINDS_FILE'>, name: string) => (config.KINDS_FILE ?? []).some((k) => k.name === name);

const refreshers = new Map<Backend, () => Promise<void>>();
let sources = 0;

export interface DeclaredKinds {
  /** read the store now */
  refresh(): Promise<void>;
  close(): void;
}

/** Load KINDS_FILE's kinds and keep the runtime ones current until close(). */
export async function startDeclaredKinds(deps: { config: Config; backend: Backend; logger: Logger }): Promise<DeclaredKinds> {
  const { config, backend, logger } = deps;
  const n = ++sources;
  kindRegistry.setSource(`file:${n}`, fileKinds(config));
  const source = `runtime:${n}`;
  const store = kindStore(backend);
  let failing = false;
  const refresh = async () => {
    const records = await store.list();
    const defs: Record<string, KindDefinition> = {};
    for (const r of records) {
      if (isFileKind(config, r.name) || kindRegistry.isBuiltIn(r.name)) continue;
      const { updatedAt: _, ...decl } = r;
      try {
        defs[r.name] = compileKind(decl as KindDeclaration, 'runtime');
      } catch (err) {
        logger.warn({ kind: r.name, err: (err as Error).message }, 'stored kind does not compile; skipped');
      }
    }
    kindRegistry.setSource(source, defs);
  };
  const tick = () =>
    refresh().then(
      () => {
        if (failing) logger.info('declared kinds: store readable again');
        failing = false;
      },
      (err) => {
        // keep what we had: a store outage must not make known kinds unknown
        if (!failing) logger.warn({ err: (err as Error).message }, 'declared kinds: cannot read the store; keeping the last known kinds');
        failing = true;
      },
    );
  await tick();
  const timer = setInterval(tick, config.KINDS_RELOAD_MS);
  timer.unref();
  refreshers.set(backend, refresh);
  return {
    refresh,
    close() {
      clearInterval(timer);
      refreshers.delete(backend);
      kindRegistry.setSource(source, {});
      kindRegistry.setSource(`file:${n}`, {});
    },
  };
}

/** After a change through `backend`: re-read at once in this process (other replicas within KINDS_RELOAD_MS). */
export async function refreshDeclaredKinds(backend: Backend): Promise<void> {
  await refreshers.get(backend)?.();
}
