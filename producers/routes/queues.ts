// /v1/queues (counts, pause, resume) and /v1/dead-letters (list, replay).
import type { Request } from 'express';
import { z } from 'zod';
import { ApiError } from '../../core/http/api-error.ts';
import { withIdempotency } from '../../core/http/idempotent-route.ts';
import { err, ok, ref } from '../../core/http/openapi.ts';
import { mayManageQueue, mayUseKind, principalOf } from '../../core/http/principal.ts';
import { type AnyRoute, byParam, type RouteTable, route } from '../../core/http/route.ts';
import { kindsOfQueue, type QueueName, queueNames } from '../../workers/catalog.ts';
import type { Config } from '../../workers/config.ts';
import { summary } from './jobs.ts';

function queueParam(req: Request): QueueName {
  const name = String(req.params.name);
  if (!(queueNames as string[]).includes(name)) {
    throw new ApiError(404, 'not_found', `no queue "${name}"`, [{ path: 'name', message: `known queues: ${queueNames.join(', ')}` }]);
  }
  return name as QueueName;
}

/** the replay removes the dead letter, so a retry would find none (404): with a key it answers the 202 again */
const keyed = { 'POST /v1/dead-letters/:id/replay': 'the job it re-enqueued' };

const queueName = z.strictObject({ name: z.enum(queueNames as [string, ...string[]]) });

export const queueRoutes: RouteTable<Config> = ({ engine, logger, backend, config }) => {
  const pauseOrResume = (action: 'pause' | 'resume'): AnyRoute =>
    route({
      method: 'post',
      path: `/v1/queues/:name/${action}`,
      auth: 'key',
      summary: action === 'pause' ? 'Pause a queue (workers stop fetching)' : 'Resume a queue',
      params: queueName,
      audit: { action: `queue.${action}`, target: byParam('queue', 'name') },
      responses: {
        '200': ok(action === 'pause' ? 'paused' : 'resumed', ref('Queue')),
        '403': err('needs admin or queue:<name>'),
        '404': err('no such queue'),
      },
      handle: async (req, res) => {
        const queue = queueParam(req);
        const principal = principalOf(req);
        if (!mayManageQueue(principal, queue)) throw new ApiError(403, 'forbidden', `key "${principal.name}" may not ${action} ${queue}`);
        if (action === 'pause') await engine.pauseQueue(queue);
        else await engine.resumeQueue(queue);
        logger.info({ queue, by: principal.name, requestId: req.requestId }, `queue ${action}d`);
        const [info] = await engine.queueInfo([queue]);
        res.json(info);
      },
    });

  const routes = [
    route({
      method: 'get',
      path: '/v1/queues',
      auth: 'key',
      summary: 'Counts per state, oldest waiting age, paused',
      responses: {
        '200': ok('the queues this key manages or may enqueue to', {
          type: 'object',
          properties: { queues: { type: 'array', items: ref('Queue') } },
        }),
        '403': err('the key may use no queue (a metrics-only key)'),
      },
      handle: async (req, res) => {
        // a queue shows to a key that manages it or may enqueue one of its kinds; a metrics-only key sees none
        const principal = principalOf(req);
        const visible = queueNames.filter((q) => mayManageQueue(principal, q) || kindsOfQueue(q).some((k) => mayUseKind(principal, k, q)));
        if (visible.length === 0) throw new ApiError(403, 'forbidden', `key "${principal.name}" may not read any queue`);
        res.json({ engine: engine.kind, capabilities: engine.capabilities, queues: await engine.queueInfo(visible) });
      },
    }),
    pauseOrResume('pause'),
    pauseOrResume('resume'),
    route({
      method: 'get',
      path: '/v1/dead-letters',
      auth: 'key',
      summary: 'Dead letters, newest first',
      query: z.strictObject({
        queue: z.enum(queueNames as [string, ...string[]]).optional(),
        limit: z.coerce.number().int().min(1).max(1000).default(100),
      }),
      responses: {
        '200': ok('dead letters', { type: 'object', properties: { deadLetters: { type: 'array', items: ref('DeadLetter') } } }),
        '400': err('bad query'),
        '403': err('the key may not manage that queue'),
      },
      handle: async (req, res, input) => {
        const q = input.query();
        const principal = principalOf(req);
        const allowed = (q.queue ? [q.queue] : queueNames).filter((n) => mayManageQueue(principal, n));
        if (allowed.length === 0)
          throw new ApiError(403, 'forbidden', `key "${principal.name}" may not read ${q.queue ?? 'any queue’s'} dead letters`);
        res.json({ deadLetters: await engine.listDeadLetters(allowed, q.limit) });
      },
    }),
    route({
      method: 'post',
      path: '/v1/dead-letters/:id/replay',
      auth: 'key',
      summary: 'Re-enqueue a dead job under its own id with fresh attempts',
      params: z.strictObject({ id: z.string() }),
      audit: { action: 'dead-letter.replay', target: byParam('job') },
      responses: { '202': ok('replayed', ref('JobSummary')), '404': err('no such dead letter in a queue this key manages') },
      handle: async (req, res) => {
        const principal = principalOf(req);
        const allowed = queueNames.filter((n) => mayManageQueue(principal, n));
        const job = await engine.replayDeadLetter(String(req.params.id), allowed);
        if (!job) throw new ApiError(404, 'not_found', `no dead letter "${req.params.id}" in a queue this key manages`);
        logger.info({ jobId: job.id, by: principal.name, requestId: req.requestId }, 'dead letter replayed');
        res.status(202).json(summary(job));
      },
    }),
  ];
  return withIdempotency({ backend, config, logger }, routes, keyed);
};
