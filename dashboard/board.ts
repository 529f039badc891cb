// Bull Board at /admin/board: every catalog queue and its dead-letter queue, on the dashboard's own
// Redis connection (never the engine's). Two boards share the same URL: a read-only one for viewers and
// a full one for operators and admins; `boardPolicy` decides which unsafe API calls each role may make.
import { createBullBoard } from '@bull-board/api';
import type { BaseAdapter } from '@bull-board/api/baseAdapter';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import { Queue } from 'bullmq';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Engine } from '../core/engine.ts';
import { dlqName, META_KEY } from '../core/engines/bullmq/engine.ts';
import { pgbossBoardSource } from '../core/engines/pgboss/bull-board-adapter.ts';
import { PgbossEngine } from '../core/engines/pgboss/engine.ts';
import { ApiError } from '../core/http/api-error.ts';
import { queueNames } from '../workers/catalog.ts';
import { atLeast, type Role } from './auth.ts';

export const BOARD_PATH = '/admin/board';

/** Adapters for one engine; `readOnly` builds the viewer's set. */
export interface BoardSource {
  adapters(readOnly: boolean): BaseAdapter[];
  /** called after Bull Board retried jobs of `queue` (ids, or every failed one): drop their stale dead letters */
  afterRetry?(queue: string, jobId: string | null): Promise<void>;
  close(): Promise<void>;
}

const stripMeta = (data: unknown) => {
  if (data && typeof data === 'object' && !Array.isArray(data) && META_KEY in data) {
    const { [META_KEY]: _meta, ...rest } = data as Record<string, unknown>;
    return rest;
  }
  return data;
};

/** BullMQ: our own Queue objects on the dashboard connection, same prefix as the engine. */
export function bullmqBoardSource(redis: Redis, prefix: string, logger: Logger): BoardSource {
  const queues = new Map<string, Queue>();
  for (const name of queueNames.flatMap((q) => [q, dlqName(q)])) {
    const q = new Queue(name, { connection: redis, prefix });
    q.on('error', (err) => logger.warn({ queue: name, err: err.message }, 'dashboard queue error'));
    queues.set(name, q);
  }
  return {
    adapters(readOnly) {
      return [...queues].map(([name, q]) => {
        const dead = name.endsWith('-dlq');
        const a = new BullMQAdapter(q, {
          readOnlyMode: readOnly,
          allowRetries: !readOnly && !dead,
          description: dead ? 'Dead letters. Replay them from /admin/dead-letters.' : '',
        });
        a.setFormatter('data', stripMeta);
        return a;
      });
    },
    async afterRetry(queue, jobId) {
      const dlq = queues.get(dlqName(queue));
      const main = queues.get(queue);
      if (!dlq || !main) return;
      const ids = jobId ? [jobId] : (await dlq.getJobs(['waiting', 'prioritized', 'delayed'], 0, 999)).map((j) => String(j?.id));
      for (const id of ids) {
        const state = await main.getJobState(id);
        if (state !== 'failed' && state !== 'unknown') await dlq.remove(id);
      }
    },
    async close() {
      await Promise.all([...queues.values()].map((q) => q.close().catch(() => {})));
    },
  };
}

/** The board source for the configured engine: our Queue objects on Redis, or the pg-boss adapters. */
export function boardSourceFor(engine: Engine, redis: Redis | undefined, prefix: string, logger: Logger): BoardSource {
  if (engine.kind === 'bullmq' && redis) return bullmqBoardSource(redis, prefix, logger);
  if (engine instanceof PgbossEngine) return pgbossBoardSource(engine);
  logger.warn({ engine: engine.kind }, 'no Bull Board adapter for this engine yet: the board shows no queues');
  return { adapters: () => [], close: async () => {} };
}

/** Unsafe Bull Board API calls by the least role allowed; absent routes need admin. */
const OPERATOR_ROUTES = [
  /^\/api\/queues\/(pause|resume)$/,
  /^\/api\/queues\/[^/]+\/(pause|resume|promote)$/,
  /^\/api\/queues\/[^/]+\/(retry|clean)\/[^/]+$/,
  /^\/api\/queues\/[^/]+\/[^/]+\/(retry|clean|promote)$/,
];
/** Adding or editing job data would skip the catalog's validation: enqueue through POST /v1/jobs instead. */
const NOBODY_ROUTES = [/^\/api\/queues\/[^/]+\/add$/, /^\/api\/queues\/[^/]+\/[^/]+\/update-data$/];

export function boardPolicy(method: string, path: string): Role | 'nobody' {
  if (['GET', 'HEAD', 'OPTIONS'].includes(method)) return 'viewer';
  if (NOBODY_ROUTES.some((r) => r.test(path))) return 'nobody';
  if (OPERATOR_ROUTES.some((r) => r.test(path))) return 'operator';
  return 'admin';
}

export interface Board {
  handler: RequestHandler;
  close(): Promise<void>;
}

export function createBoard(source: BoardSource, links: { text: string; url: string }[], logger: Logger): Board {
  const make = (readOnly: boolean) => {
    const server = new ExpressAdapter().setBasePath(BOARD_PATH);
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
    handler(req: Request, res: Response, next: NextFunction) {
      const user = req.dashboardUser;
      if (!user) throw new ApiError(401, 'unauthorized', 'sign in at /admin/login');
      const need = boardPolicy(req.method, req.path);
      if (need === 'nobody') {
        throw new ApiError(403, 'forbidden', 'not from the dashboard: enqueue through POST /v1/jobs so the catalog validates the payload');
      }
      if (!atLeast(user.role, need)) throw new ApiError(403, 'forbidden', `role ${user.role} may not do this; needs ${need}`);
      (user.role === 'viewer' ? readOnly : full)(req, res, next);
    },
    close: () => source.close(),
  };
}
