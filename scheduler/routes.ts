// /v1/schedules: list, create/replace, delete, run now, pause, resume. A key needs the `admin` scope,
// or the `schedules` scope plus permission to enqueue the schedule's job kind (so a schedule cannot
// enqueue what its creator could not).
import type { Request } from 'express';
import type { Logger } from 'pino';
import { z } from 'zod';
import { ApiError } from '../core/http/api-error.ts';
import { withIdempotency } from '../core/http/idempotent-route.ts';
import { componentRef, err, ok, ref } from '../core/http/openapi.ts';
import { isAdmin, mayUseKind, type Principal, principalOf } from '../core/http/principal.ts';
import { type AnyRoute, byParam, type RouteTable, route } from '../core/http/route.ts';
import { isJobName, queueOfKind } from '../workers/catalog.ts';
import type { Config } from '../workers/config.ts';
import {
  deleteSchedule,
  getSchedule,
  listSchedules,
  putSchedule,
  runScheduleNow,
  type ScheduleAdminDeps,
  setScheduleEnabled,
} from './admin.ts';
import { scheduleBodySchema } from './definition.ts';
import { scheduleAdminDeps } from './index.ts';
import { ScheduleAdminError } from './schedule-admin-error.ts';

const mayReadSchedules = (p: Principal) => isAdmin(p) || p.scopes.has('schedules');
const mayScheduleKind = (p: Principal, kind: string) => mayUseKind(p, kind, queueOfKind(kind));

function mayManage(p: Principal, kind: unknown) {
  if (isAdmin(p)) return true;
  return p.scopes.has('schedules') && isJobName(kind) && mayScheduleKind(p, kind);
}

function toApiError(err: unknown): unknown {
  if (!(err instanceof ScheduleAdminError)) return err;
  const status = { not_found: 404, invalid: 400, conflict: 409 }[err.kind];
  const code = err.kind === 'invalid' ? 'invalid_request' : err.kind;
  return new ApiError(status, code, err.message, err.details);
}

const guard = async <T>(fn: () => Promise<T>) => {
  try {
    return await fn();
  } catch (err) {
    throw toApiError(err);
  }
};

const scheduleName = z.strictObject({ name: z.string() });
const nameOf = (req: Request) => String(req.params.name);
const forbidden = err('the key lacks the scope');

/** What every schedule route uses: the admin deps (built on first use) and the logger. */
interface Schedules {
  admin(): ScheduleAdminDeps;
  logger: Logger;
}

function requireRead(req: Request) {
  const p = principalOf(req);
  if (!mayReadSchedules(p)) throw new ApiError(403, 'forbidden', `key "${p.name}" may not read schedules (needs admin or schedules)`);
}

async function requireManage(s: Schedules, req: Request) {
  const p = principalOf(req);
  const view = await guard(() => getSchedule(s.admin(), nameOf(req)));
  if (!mayManage(p, view.job.name)) {
    throw new ApiError(
      403,
      'forbidden',
      `key "${p.name}" may not manage schedule "${view.name}" (needs admin, or schedules + ${view.job.name})`,
    );
  }
}

function readRoutes(s: Schedules): AnyRoute[] {
  return [
    route({
      method: 'get',
      path: '/v1/schedules',
      auth: 'key',
      summary: 'Schedules with next runs, last fired slot and last job state',
      responses: { '200': ok('schedules'), '403': forbidden },
      handle: async (req, res) => {
        requireRead(req);
        res.json({ schedules: await listSchedules(s.admin()) });
      },
    }),
    route({
      method: 'get',
      path: '/v1/schedules/:name',
      auth: 'key',
      summary: 'One schedule',
      params: scheduleName,
      responses: { '200': ok('the schedule'), '403': forbidden, '404': err('no such schedule') },
      handle: async (req, res) => {
        requireRead(req);
        res.json(await guard(() => getSchedule(s.admin(), nameOf(req))));
      },
    }),
  ];
}

function putRoute(s: Schedules): AnyRoute {
  return route({
    method: 'put',
    path: '/v1/schedules/:name',
    auth: 'key',
    summary: 'Create or replace a runtime schedule (needs `admin`, or `schedules` plus the job kind)',
    params: scheduleName,
    audit: { action: 'schedule.put', target: byParam('schedule', 'name') },
    json: true,
    // documented; putSchedule validates it (cron, timezone, the job against the catalog)
    body: scheduleBodySchema.extend({ job: componentRef('JobRequest') }),
    responses: {
      '201': ok('created'),
      '200': ok('replaced'),
      '400': err('invalid cron, timezone, job kind or payload; details name the field'),
      '403': forbidden,
    },
    handle: async (req, res) => {
      const p = principalOf(req);
      const kind = (req.body as { job?: { name?: unknown } } | undefined)?.job?.name;
      if (!isAdmin(p)) {
        if (!p.scopes.has('schedules'))
          throw new ApiError(403, 'forbidden', `key "${p.name}" may not manage schedules (needs admin or schedules)`);
        // an unknown kind is a validation error (400) below
        if (isJobName(kind) && !mayScheduleKind(p, kind)) {
          throw new ApiError(403, 'forbidden', `key "${p.name}" may not schedule ${kind} jobs`, [
            { path: 'job.name', message: 'not in this key’s scopes' },
          ]);
        }
      }
      const existing = await getSchedule(s.admin(), nameOf(req)).catch(() => null);
      if (existing && !mayManage(p, existing.job.name)) {
        throw new ApiError(403, 'forbidden', `key "${p.name}" may not replace schedule "${existing.name}"`);
      }
      const { schedule, created } = await guard(() => putSchedule(s.admin(), nameOf(req), req.body));
      s.logger.info({ schedule: schedule.name, by: p.name, requestId: req.requestId }, created ? 'schedule created' : 'schedule replaced');
      res.status(created ? 201 : 200).json(schedule);
    },
  });
}

function manageRoutes(s: Schedules): AnyRoute[] {
  const pauseOrResume = (action: 'pause' | 'resume') =>
    route({
      method: 'post',
      path: `/v1/schedules/:name/${action}`,
      auth: 'key',
      summary: action === 'pause' ? 'Pause a schedule' : 'Resume a schedule (missed slots are skipped)',
      params: scheduleName,
      audit: { action: `schedule.${action}`, target: byParam('schedule', 'name') },
      responses: { '200': ok(action === 'pause' ? 'paused' : 'resumed'), '403': forbidden, '404': err('no such schedule') },
      handle: async (req, res) => {
        await requireManage(s, req);
        const view = await guard(() => setScheduleEnabled(s.admin(), nameOf(req), action === 'resume'));
        s.logger.info({ schedule: view.name, by: principalOf(req).name, requestId: req.requestId }, `schedule ${action}d`);
        res.json(view);
      },
    });
  return [
    route({
      method: 'delete',
      path: '/v1/schedules/:name',
      auth: 'key',
      summary: 'Remove a runtime schedule',
      params: scheduleName,
      audit: { action: 'schedule.delete', target: byParam('schedule', 'name') },
      responses: { '204': { description: 'removed' }, '403': forbidden, '404': err('no such schedule'), '409': err('declared in code') },
      handle: async (req, res) => {
        await requireManage(s, req);
        await guard(() => deleteSchedule(s.admin(), nameOf(req)));
        s.logger.info({ schedule: nameOf(req), by: principalOf(req).name, requestId: req.requestId }, 'schedule deleted');
        res.status(204).end();
      },
    }),
    route({
      method: 'post',
      path: '/v1/schedules/:name/run',
      auth: 'key',
      summary: 'Enqueue the schedule’s job now',
      params: scheduleName,
      audit: { action: 'schedule.run', target: byParam('schedule', 'name') },
      responses: { '202': ok('enqueued', ref('JobSummary')), '403': forbidden, '404': err('no such schedule') },
      handle: async (req, res) => {
        await requireManage(s, req);
        const job = await guard(() => runScheduleNow(s.admin(), nameOf(req), { requestId: req.requestId }));
        const self = `/v1/jobs/${encodeURIComponent(job.id)}`;
        res.status(202).location(self).json({ id: job.id, name: job.name, queue: job.queue, state: job.state, links: { self } });
      },
    }),
    pauseOrResume('pause'),
    pauseOrResume('resume'),
  ];
}

export const scheduleRoutes: RouteTable<Config> = (deps) => {
  let admin: ScheduleAdminDeps | undefined;
  const s: Schedules = {
    admin: () => {
      admin ??= scheduleAdminDeps(deps.config, deps.backend);
      return admin;
    },
    logger: deps.logger,
  };
  // a retried run (same Idempotency-Key) answers the job the first one enqueued (core/http/idempotent-route.ts)
  const keyed = { 'POST /v1/schedules/:name/run': 'the job it enqueued' };
  return withIdempotency(deps, [...readRoutes(s), putRoute(s), ...manageRoutes(s)], keyed);
};
