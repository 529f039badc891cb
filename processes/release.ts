// Procfile `release`: one-off steps run before a new version takes traffic: the engine's own (the
// backend's `release`: pg-boss's schema and queues) first, then each domain's (workers/domains.ts
// order: demo data, Elasticsearch index templates). Each must be idempotent; a failure exits non-zero.
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import type { Backend } from '../core/backend.ts';
import type { Engine } from '../core/engine.ts';
import { ExitError } from '../core/lifecycle.ts';
import { type ReleaseTask, runReleaseTasks } from '../core/release.ts';
import type { Config } from '../workers/config.ts';
import { releaseTasks as domainReleaseTasks } from '../workers/domains.ts';
import { runEntry } from './run.ts';
import { startBackend } from './services/backend.ts';

export async function releaseTasks(backend: Pick<Backend, 'release'>): Promise<ReleaseTask<Config>[]> {
  const own = backend.release;
  const engineTask: ReleaseTask[] = own ? [{ name: own.name, enabled: () => true, run: () => own.run() }] : [];
  return [...engineTask, ...(await domainReleaseTasks())];
}

export async function runRelease(deps: {
  config: Config;
  logger: Logger;
  engine: Engine;
  backend: Pick<Backend, 'release'>;
}): Promise<void> {
  await runReleaseTasks(await releaseTasks(deps.backend), deps);
}

// the entry, only when run as one (this module's runner is imported elsewhere)
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  runEntry('release', async (ctx) => {
    const { config, backend } = await startBackend(ctx);
    try {
      await runRelease({ config, logger: ctx.logger, engine: backend.engine, backend });
    } catch (err) {
      throw new ExitError('release failed', 1, { cause: err });
    }
    await ctx.life.shutdown('release done');
  });
}
