// Extra API routes owned by feature modules (mail catcher, report downloads, schedules …).
// Each module exports a function that adds routes to the authenticated `/v1` router.
import type { Router } from 'express';
import { scheduleRoutes } from '../../scheduler/routes.ts';
import { emailRoutes } from '../../workers/email/routes.ts';
import { reportLinkRoutes, reportRoutes } from '../../workers/reports/routes.ts';
import { searchRoutes } from '../../workers/search/routes.ts';
import type { AppDeps } from '../app.ts';
import { scalingRoutes } from './scaling.ts';

export type RouteModule = (api: Router, deps: AppDeps) => void;

export const routeModules: RouteModule[] = [emailRoutes, reportLinkRoutes, scalingRoutes, scheduleRoutes, searchRoutes];

/** Routes whose request carries its own credential (a signed, expiring link): mounted before API-key auth. */
export const publicRouteModules: RouteModule[] = [reportRoutes];
