// Readiness checks for GET /readyz: every configured dependency, by name.
// A check resolves when the dependency answers and rejects (with a reason) when it does not.

import { smtpReadiness } from '../workers/email/smtp-readiness.ts';
import { postgresReadinessChecks } from '../workers/reports/postgres-readiness.ts';
import { searchReadinessCheck } from '../workers/search/readiness.ts';
import type { KernelConfig } from './config/index.ts';
import type { Engine } from './engine.ts';

/** `C`: the config a domain's check reads (the kernel's plus its own section). */
export interface ReadinessCheck<C extends KernelConfig = KernelConfig> {
  name: string;
  /** return false when this dependency is not configured (it is then left out) */
  enabled(config: C): boolean;
  /** resolves (optionally with a note, e.g. "waiting for config": still ready) or rejects (down) */
  check(deps: { config: C; engine: Engine }): Promise<void | string>;
}

export const readinessChecks: ReadinessCheck[] = [smtpReadiness, searchReadinessCheck, ...postgresReadinessChecks];

export async function runReadiness(deps: { config: KernelConfig; engine: Engine }, timeoutMs = 2_000) {
  const all: { name: string; check: () => Promise<void | string> }[] = [
    { name: deps.engine.kind === 'bullmq' ? 'redis' : 'postgres', check: () => deps.engine.ping() },
    ...readinessChecks.filter((c) => c.enabled(deps.config)).map((c) => ({ name: c.name, check: () => c.check(deps) })),
  ];
  const results = await Promise.all(
    all.map(async (c) => {
      try {
        const note = await Promise.race([
          c.check(),
          new Promise((_, reject) => setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs).unref()),
        ]);
        return [c.name, typeof note === 'string' ? note : 'up'] as const;
      } catch (err) {
        return [c.name, `down: ${(err as Error).message}`] as const;
      }
    }),
  );
  const checks = Object.fromEntries(results);
  return { ready: results.every(([, s]) => !s.startsWith('down')), checks };
}
