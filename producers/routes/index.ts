// The platform's own route tables (the domains' come from their manifests: workers/domains.ts
// routeTables). producers/app.ts mounts them all and documents them in GET /v1/openapi.json.
import type { RouteTable } from '../../core/http/route.ts';
import { scheduleRoutes } from '../../scheduler/routes.ts';
import type { Config } from '../../workers/config.ts';
import { auditRoutes } from './audit.ts';
import { flowRoutes } from './flows.ts';
import { groupRoutes } from './groups.ts';
import { healthRoutes } from './health.ts';
import { jobSearchRoutes } from './job-search.ts';
import { jobRoutes } from './jobs.ts';
import { kindRoutes } from './kinds.ts';
import { queueRoutes } from './queues.ts';
import { scalingRoutes } from './scaling.ts';

export const coreRouteTables: RouteTable<Config>[] = [
  healthRoutes,
  jobSearchRoutes,
  jobRoutes,
  kindRoutes,
  queueRoutes,
  groupRoutes,
  scalingRoutes,
  scheduleRoutes,
  auditRoutes,
  flowRoutes,
];
