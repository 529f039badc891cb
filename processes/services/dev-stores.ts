// Development stores (core/engines/factory.ts startLocalStore): a private redis-server when nothing
// answers at a local REDIS_URL (REDIS_AUTOSTART, on by default under `npm start` outside production), or
// an embedded PostgreSQL with neither REDIS_URL nor DATABASE_URL (`npm start` only). Stopped last, after
// the backend that talks to it.
import { LocalStoreError, startLocalStore } from '../../core/engines/factory.ts';
import { ExitError, resource } from '../../core/lifecycle.ts';
import type { Config } from '../../workers/config.ts';
import type { EntryContext } from '../run.ts';

/** Starts the development store this process needs; returns the config with the embedded PostgreSQL's URL. */
export async function startDevStores(ctx: EntryContext): Promise<Config> {
  const { config, type, logger } = ctx;
  const store = await ctx.life.start(
    resource(
      'development store',
      async () => {
        try {
          return await startLocalStore(config, { mode: type, logger });
        } catch (err) {
          throw err instanceof LocalStoreError ? new ExitError(err.message, err.exitCode) : err;
        }
      },
      (s) => s.stop(),
    ),
  );
  return store.value.config;
}
