// /v1/schedules: list, create/replace, delete, run now, pause, resume. A key needs the `admin` scope,
// or the `schedules` scope plus permission to enqueue the schedule's job kind (so a schedule cannot
// enqueue what its creator could not).
import type { Request, Router } from 'express';
import { ApiError } from '../core/http/api-error.ts';
import type { AppDeps } from '../producers/app.ts';
import { isAdmin, mayUseKind, type Principal, principalOf } from '../producers/auth.ts';
import { isJobName } from '../workers/catalog.ts';
import {
  deleteSchedule,
  getSchedule,
  listSchedules,
  putSchedule,
  runScheduleNow,
  type ScheduleAdminDeps,
  setScheduleEnabled,
} from './admin.ts';
import { scheduleAdminDeps } from './index.ts';
import { ScheduleAdminError } from './schedule-admin-error.ts';

const mayReadSchedules = (p: Principal) => isAdmin(p) || p.scopes.has('schedules');

function mayManage(p: Principal, kind: unknown) {
  if (isAdmin(p)) return true;
  return p.scopes.has('schedules') && isJobName(kind) && mayUseKind(p, kind);
}

function toApiError(err: unknown): unknown {
  if (!(err instanceof ScheduleAdminError)) return err;
  const status = { not_found: 404, invalid: 400, conflict: 409 }[err.kind];
  const code = err.kind === 'invalid' ? 'invalid_request' : err.kind;
  return new ApiError(status, code, err.message, err.details);
}

export function scheduleRoutes(api: Router, deps: AppDeps) {
  let admin: ScheduleAdminDeps | undefined;
  const adminDeps = () => {
    admin ??= scheduleAdminDeps(deps.config, deps.backend);
    return admin;
  };
  const name = (req: Request) => String(req.params.name);
  const guard = async <T>(fn: () => Promise<T>) => {
    try {
      return await fn();
    } catch (err) {
      throw toApiError(err);
    }
  };
  const requireRead = (req: Request) => {
    const p = principalOf(req);
    if (!mayReadSchedules(p)) throw new ApiError(403, 'forbidden', `key "${p.name}" may not read schedules (needs admin or schedules)`);
  };
  const requireManage = async (req: Request) => {
    const p = principalOf(req);
    const view = await guard(() => getSchedule(adminDeps(), name(req)));
    if (!mayManage(p, view.job.name)) {
      throw new ApiError(
        403,
        'forbidden',
        `key "${p.name}" may not manage schedule "${view.name}" (needs admin, or schedules + ${view.job.name})`,
      );
    }
  };

  api.get('/schedules', async (req, res) => {
    requireRead(req);
    res.json({ schedules: await listSchedules(adminDeps()) });
  });

  api.get('/schedules/:name', async (req, res) => {
    requireRead(req);
    res.json(await guard(() => getSchedule(adminDeps(), name(req))));
  });

  api.put('/schedules/:name', async (req, res) => {
    if (!req.is(['application/json', 'application/*+json'])) {
      throw new ApiError(415, 'unsupported_media_type', 'send the body as application/json', [
        { path: 'Content-Type', message: 'expects application/json' },
      ]);
    }
    const p = principalOf(req);
    const kind = (req.body as { job?: { name?: unknown } } | undefined)?.job?.name;
    if (!isAdmin(p)) {
      if (!p.scopes.has('schedules'))
        throw new ApiError(403, 'forbidden', `key "${p.name}" may not manage schedules (needs admin or schedules)`);
      // an unknown kind is a validation error (400) below
      if (isJobName(kind) && !mayUseKind(p, kind)) {
        throw new ApiError(403, 'forbidden', `key "${p.name}" may not schedule ${kind} jobs`, [
          { path: 'job.name', message: 'not in this key’s scopes' },
        ]);
      }
    }
    const existing = await getSchedule(adminDeps(), name(req)).catch(() => null);
    if (existing && !mayManage(p, existing.job.name)) {
      throw new ApiError(403, 'forbidden', `key "${p.name}" may not replace schedule "${existing.name}"`);
    }
    const { schedule, created } = await guard(() => putSchedule(adminDeps(), name(req), req.body));
    deps.logger.info({ schedule: schedule.name, by: p.name, requestId: req.requestId }, created ? 'schedule created' : 'schedule replaced');
    res.status(created ? 201 : 200).json(schedule);
  });

  api.delete('/schedules/:name', async (req, res) => {
    await requireManage(req);
    await guard(() => deleteSchedule(adminDeps(), name(req)));
    deps.logger.info({ schedule: name(req), by: principalOf(req).name, requestId: req.requestId }, 'schedule deleted');
    res.status(204).end();
  });

  api.post('/schedules/:name/run', async (req, res) => {
    await requireManage(req);
    const job = await guard(() => runScheduleNow(adminDeps(), name(req), { requestId: req.requestId }));
    res
      .status(202)
      .location(`/v1/jobs/${encodeURIComponent(job.id)}`)
      .json({ id: job.id, name: job.name, queue: job.queue, state: job.state, links: { self: `/v1/jobs/${encodeURIComponent(job.id)}` } });
  });

  for (const action of ['pause', 'resume'] as const) {
    api.post(`/schedules/:name/${action}`, async (req, res) => {
      await requireManage(req);
      const view = await guard(() => setScheduleEnabled(adminDeps(), name(req), action === 'resume'));
      deps.logger.info({ schedule: view.name, by: principalOf(req).name, requestId: req.requestId }, `schedule ${action}d`);
      res.json(view);
    });
  }
}
