// The one list of job domains. Everything a domain adds to the platform is read from its manifest
// (workers/<domain>/index.ts, shape in core/domain.ts): the catalog (./catalog.ts), the handler registry
// (./handlers.ts), routes, readiness checks, release steps, built-in schedules, per-queue rate limits and
// dashboard sources (below). Adding a domain is a new folder workers/<name>/ and one line in this list.
// The order is the catalog's: queues are listed in it (GET /v1/queues) and release steps run in it.

import type { ConfigOf, DashboardDeps, DashboardSources, DeclaredSchedule, RateLimit } from '../core/domain.ts';
import type { RouteTable } from '../core/http/route.ts';
import type { ReadinessCheck } from '../core/readiness.ts';
import type { ReleaseTask } from '../core/release.ts';
import { diagnosticsDomain } from './diagnostics/index.ts';
import { emailDomain } from './email/index.ts';
import { httpDomain } from './http/index.ts';
import { opsDomain } from './ops/index.ts';
import { reportsDomain } from './reports/index.ts';
import { searchDomain } from './search/index.ts';
import { webhooksDomain } from './webhooks/index.ts';

export const domains = [diagnosticsDomain, emailDomain, opsDomain, reportsDomain, searchDomain, httpDomain, webhooksDomain] as const;

/** Every setting: the kernel's and each domain's section (workers/config.ts reads them). */
export type Config = ConfigOf<typeof domains>;

let readiness: Promise<ReadinessCheck<Config>[]> | undefined;

/** Every domain's readiness checks (GET /readyz), loaded on first use. */
export function readinessChecks(): Promise<ReadinessCheck<Config>[]> {
  readiness ??= Promise.all(domains.map((d) => d.readiness?.() ?? [])).then((lists) => lists.flat());
  return readiness;
}

/** Every domain's route table, in list order (producers/app.ts mounts and documents them). */
export async function routeTables(): Promise<RouteTable<Config>[]> {
  return (await Promise.all(domains.map((d) => d.routes?.()))).filter((t) => t !== undefined);
}

/** Every domain's release steps, in list order. */
export async function releaseTasks(): Promise<ReleaseTask<Config>[]> {
  return (await Promise.all(domains.map((d) => d.release?.() ?? []))).flat();
}

/** The schedules the domains declare in code, before SCHEDULES_OVERRIDES / SCHEDULES_DISABLED. */
export function declaredSchedules(config: Config): DeclaredSchedule[] {
  return domains.flatMap((d) => d.schedules?.(config) ?? []);
}

/** Per-queue rate limits from config (e.g. EMAIL_RATE_PER_SECOND), over the queue definitions'. */
export function queueRateLimits(config: Config): Record<string, RateLimit | undefined> {
  return Object.assign({}, ...domains.map((d) => d.rateLimits?.(config) ?? {}));
}

/** What the domains show in the dashboard (template previews, caught mail). */
export async function dashboardSources(deps: DashboardDeps<Config>): Promise<DashboardSources> {
  return Object.assign({}, ...(await Promise.all(domains.map((d) => d.dashboard?.(deps) ?? {}))));
}
