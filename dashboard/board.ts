// Bull Board at /admin/board: every catalog queue and its dead-letter queue, from the backend's board
// source (its own connection, never the engine's). Two boards share the same URL: a read-only one for
// viewers and a full one for operators and admins; `boardPolicy` decides which unsafe API calls each role may make.
// Its promote routes are ours first (dashboard/board-promote.ts): a grouped job is released by its group, never promoted.
import { createBullBoard } from '@bull-board/api';
import { ExpressAdapter } from '@bull-board/express';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import type { BoardSource } from '../core/backend.ts';
import { ApiError } from '../core/http/api-error.ts';
import { atLeast, type Role } from './auth.ts';
import { interceptPromote, type PromoteDeps } from './board-promote.ts';

export const BOARD_PATH = '/admin/board';

export type { BoardSource };

/** Unsafe Bull Board API calls by the least role allowed; absent routes need admin. */
const OPERATOR_ROUTES = [
  /^\/api\/queues\/(pause|resume)$/,
  /^\/api\/queues\/[^/]+\/(pause|resume|promote)$/,
  /^\/api\/queues\/[^/]+\/(retry|clean)\/[^/]+$/,
  /^\/api\/queues\/[^/]+\/[^/]+\/(retry|clean|promote)$/,
];
/** Adding or editing job data would skip the catalog's validation: enqueue through POST /v1/jobs instead. */
const NOBODY_ROUTES = [/^\/api\/queues\/[^/]+\/add$/, /^\/api\/queues\/[^/]+\/[^/]+\/update-data$/];

/**
 * The path as express's router matches it (case-insensitive, trailing slash optional, percent-decoded):
 * `/API/queues/x/ADD/` and `/api/queues/x/%61dd` must meet the same rule as `/api/queues/x/add`.
 */
export function normalisePath(path: string): string | null {
  let p: string;
  try {
    p = decodeURIComponent(path);
  } catch {
    return null;
  }
  return (
    p
      .toLowerCase()
      .replace(/\/{2,}/g, '/')
      .replace(/\/+$/, '') || '/'
  );
}

export function boardPolicy(method: string, rawPath: string): Role | 'nobody' {
  if (['GET', 'HEAD', 'OPTIONS'].includes(method.toUpperCase())) return 'viewer';
  const path = normalisePath(rawPath);
  if (path === null) return 'nobody';
  if (NOBODY_ROUTES.some((r) => r.test(path))) return 'nobody';
  if (OPERATOR_ROUTES.some((r) => r.test(path))) return 'operator';
  return 'admin';
}

export interface Board {
  handler: RequestHandler;
  close(): Promise<void>;
}

export function createBoard(source: BoardSource, links: { text: string; url: string }[], logger: Logger, promote: PromoteDeps): Board {
  const make = (readOnly: boolean) => {
    const server = new ExpressAdapter().setBasePath(BOARD_PATH);
    // Bull Board's own express app would announce itself
    (server as unknown as { app: { disable(s: string): void } }).app.disable('x-powered-by');
    createBullBoard({
      queues: source.adapters(readOnly),
      serverAdapter: server,
      options: {
        uiConfig: { boardTitle: readOnly ? 'Conveyor (read-only)' : 'Conveyor', miscLinks: links, hideDocsLink: true },
        handlerHooks: {
          after: async (ctx, result) => {
            const ok = (result.status ?? 200) < 300;
            const { queueName, jobId, queueStatus } = ctx.request.params as Record<string, string | undefined>;
            if (ok && ctx.method === 'put' && queueName && ctx.route.endsWith('/retry') && jobId) {
              await source.afterRetry?.(queueName, jobId).catch((err) => logger.warn({ err }, 'dead-letter cleanup failed'));
            } else if (ok && ctx.method === 'put' && queueName && ctx.route.endsWith('/retry/:queueStatus') && queueStatus === 'failed') {
              await source.afterRetry?.(queueName, null).catch((err) => logger.warn({ err }, 'dead-letter cleanup failed'));
            }
            return result;
          },
        },
      },
    });
    return server.getRouter() as RequestHandler;
  };
  const readOnly = make(true);
  const full = make(false);
  return {
    async handler(req: Request, res: Response, next: NextFunction) {
      const user = req.dashboardUser;
      if (!user) throw new ApiError(401, 'unauthorized', 'sign in at /admin/login');
      const need = boardPolicy(req.method, req.path);
      if (need === 'nobody') {
        throw new ApiError(403, 'forbidden', 'not from the dashboard: enqueue through POST /v1/jobs so the catalog validates the payload');
      }
      if (!atLeast(user.role, need)) throw new ApiError(403, 'forbidden', `role ${user.role} may not do this; needs ${need}`);
      if (user.role !== 'viewer' && (await interceptPromote(promote, req, res))) return;
      (user.role === 'viewer' ? readOnly : full)(req, res, next);
    },
    close: () => source.close(),
  };
}
