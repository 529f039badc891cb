// The `release` process type: one-off steps run before a new version takes traffic
// (migrations, Elasticsearch index templates). Each must be idempotent; a failure exits non-zero.
import type { Logger } from 'pino';
import type { Engine } from '../core/engine.ts';
import { pgbossReleaseTask } from '../core/engines/pgboss/release-task.ts';
import type { Config } from '../workers/config.ts';
import { reportsDemoReleaseTask } from '../workers/reports/demo-data.ts';
import { searchReleaseTask } from '../workers/search/release.ts';

export interface ReleaseTask {
  name: string;
  enabled(config: Config): boolean;
  run(deps: { config: Config; logger: Logger; engine: Engine }): Promise<void>;
}

export const releaseTasks: ReleaseTask[] = [pgbossReleaseTask, reportsDemoReleaseTask, searchReleaseTask];

export async function runRelease(deps: { config: Config; logger: Logger; engine: Engine }): Promise<void> {
  for (const task of releaseTasks) {
    if (!task.enabled(deps.config)) {
      deps.logger.info({ task: task.name }, 'release step skipped (not configured)');
      continue;
    }
    const started = Date.now();
    await task.run(deps);
    deps.logger.info({ task: task.name, ms: Date.now() - started }, 'release step done');
  }
}
