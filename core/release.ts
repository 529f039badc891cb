// A release step: one-off work run by the `release` process before a new version takes traffic
// (migrations, index templates). Each must be idempotent; a failure exits the release non-zero.
// Domains declare theirs in their manifest (core/domain.ts); processes/release.ts runs them in order.
import type { Logger } from 'pino';
import type { KernelConfig } from './config/index.ts';
import type { Engine } from './engine.ts';

/** `C`: the config the step reads (the kernel's plus its domain's section). */
export interface ReleaseTask<C extends KernelConfig = KernelConfig> {
  name: string;
  enabled(config: C): boolean;
  run(deps: { config: C; logger: Logger; engine: Engine }): Promise<void>;
}

/** Runs the enabled tasks one after another, logging each; the first failure rejects. */
export async function runReleaseTasks<C extends KernelConfig>(
  tasks: readonly ReleaseTask<C>[],
  deps: { config: C; logger: Logger; engine: Engine },
): Promise<void> {
  for (const task of tasks) {
    if (!task.enabled(deps.config)) {
      deps.logger.info({ task: task.name }, 'release step skipped (not configured)');
      continue;
    }
    const started = Date.now();
    await task.run(deps);
    deps.logger.info({ task: task.name, ms: Date.now() - started }, 'release step done');
  }
}
