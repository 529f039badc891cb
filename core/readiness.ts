// Readiness checks for GET /readyz: every configured dependency, by name. The queue store is always
// checked; the others come from the domains (their manifests' `readiness`), passed in by the caller.
// A check resolves when the dependency answers and rejects (with a reason) when it does not.
// Ready means this process can do its own job, which needs its queue store only: SMTP, Elasticsearch or
// a reports database being down shows in the details and in `conveyor_dependency_up`, and jobs that need
// them wait and retry; it does not take the process out of service (a mail outage must not stop the API).
import { Gauge } from 'prom-client';
import type { Backend } from './backend.ts';
import type { KernelConfig } from './config/index.ts';
import type { Engine } from './engine.ts';
import { processRegistry } from './metrics/job-metrics.ts';

const dependencyUp = new Gauge({
  name: 'conveyor_dependency_up',
  help: '1 when the dependency answered the last readiness check, 0 when it did not (the queue store included)',
  labelNames: ['dependency'] as const,
  registers: [processRegistry],
});

/** `C`: the config a domain's check reads (the kernel's plus its own section). */
export interface ReadinessCheck<C extends KernelConfig = KernelConfig> {
  name: string;
  /**
   * return false when this dependency is not configured (it is then left out), or when it is the queue
   * `store` itself (already checked under the store's name)
   */
  enabled(config: C, store: { name: string; url: string }): boolean;
  /** resolves (optionally with a note, e.g. "waiting for config": still ready) or rejects (down) */
  check(deps: { config: C; engine: Engine }): Promise<void | string>;
}

/** The queue store (named by the backend: `redis`, `postgres`) and every configured dependency in `checks`. */
export async function runReadiness(
  deps: { config: KernelConfig; backend: Pick<Backend, 'engine' | 'storeName' | 'storeUrl'> },
  checks: readonly ReadinessCheck[],
  timeoutMs = 2_000,
) {
  const { config, backend } = deps;
  const engine = backend.engine;
  const store = { name: backend.storeName, url: backend.storeUrl };
  const all: { name: string; check: () => Promise<void | string> }[] = [
    { name: backend.storeName, check: () => engine.ping() },
    ...checks.filter((c) => c.enabled(config, store)).map((c) => ({ name: c.name, check: () => c.check({ config, engine }) })),
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
  for (const [name, status] of results) dependencyUp.set({ dependency: name }, status.startsWith('down') ? 0 : 1);
  const storeUp = !(results[0]?.[1] ?? 'down').startsWith('down');
  return { ready: storeUp, checks: Object.fromEntries(results) };
}
