// Procfile `release`: one-off steps run before a new version takes traffic (migrations, Elasticsearch
// index templates). Each must be idempotent; a failure exits non-zero.
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import type { Backend } from '../core/backend.ts';
import type { Engine } from '../core/engine.ts';
import { ExitError } from '../core/lifecycle.ts';
import type { Config } from '../workers/config.ts';
import { reportsDemoReleaseTask } from '../workers/reports/demo-data.ts';
import { searchReleaseTask } from '../workers/search/release.ts';
import { runEntry } from './run.ts';
import { startBackend } from './services/backend.ts';

export interface ReleaseTask {
  name: string;
  enabled(config: Config): boolean;
  run(deps: { config: Config; logger: Logger; engine: Engine }): Promise<void>;
}

export const releaseTasks: ReleaseTask[] = [reportsDemoReleaseTask, searchReleaseTask];

/** The engine's own step (the backend's `release`: pg-boss's schema and queues) first, then the domains'. */
export async function runRelease(deps: {
  config: Config;
  logger: Logger;
  engine: Engine;
  backend: Pick<Backend, 'release'>;
}): Promise<void> {
  const own = deps.backend.release;
  const engineTask: ReleaseTask[] = own ? [{ name: own.name, enabled: () => true, run: () => own.run() }] : [];
  for (const task of [...engineTask, ...releaseTasks]) {
    if (!task.enabled(deps.config)) {
      deps.logger.info({ task: task.name }, 'release step skipped (not configured)');
      continue;
    }
    const started = Date.now();
    await task.run(deps);
    deps.logger.info({ task: task.name, ms: Date.now() - started }, 'release step done');
  }
}

// the entry, only when run as one (this module's runner and ReleaseTask are imported elsewhere)
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
