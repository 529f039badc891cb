// /v1/webhooks: admin subscriptions to completion-webhook events (docs/webhooks.md). A subscription names a
// URL (allowlisted like every outbound target) and, optionally, the event types, job kinds and queues it
// wants. Kept in the engine's store (RecordStore `webhook-subscriptions`); every process re-reads it
// within WEBHOOKS_RELOAD_MS, the one that took the change at once.
import { randomBytes } from 'node:crypto';
import type { Request } from 'express';
import { z } from 'zod';
import type { KernelConfig } from '../../core/config/index.ts';
import { ApiError } from '../../core/http/api-error.ts';
import { withIdempotency } from '../../core/http/idempotent-route.ts';
import { err, ok } from '../../core/http/openapi.ts';
import { isAdmin, principalOf } from '../../core/http/principal.ts';
import { type AnyRoute, byParam, type RouteTable, route } from '../../core/http/route.ts';
import { JOB_EVENTS, type Subscription, webhookEvents } from '../../core/outbound/events.ts';
import { secretProblem, targetsOf } from '../../core/outbound/index.ts';

/** Event types a subscription may name: the jobs', and the workflows' (emitted once workflows exist). */
export const KNOWN_EVENTS = [...JOB_EVENTS, 'flow.completed', 'flow.failed'] as const;

const names = z.array(z.string().min(1).max(200)).max(100).default([]);
export const subscriptionBody = z.strictObject({
  url: z.url({ protocol: /^https?$/, error: 'expects an http(s) URL' }).max(2048),
  events: z.array(z.enum(KNOWN_EVENTS)).max(KNOWN_EVENTS.length).default([]).describe('empty: every event'),
  kinds: names.describe('job kinds; with queues empty too: every kind'),
  queues: names.describe('queues; with kinds empty too: every queue'),
  description: z.string().max(500).optional(),
  secret: z
    .string()
    .max(200)
    .refine((v) => secretProblem(v) === undefined, { error: 'expects whsec_<base64 of 24 to 64 bytes>' })
    .optional()
    .describe("this receiver's signing secret (whsec_<base64>); omitted: one is generated and answered once"),
});

const idParam = z.strictObject({ id: z.string() });

function requireAdmin(req: Request) {
  const p = principalOf(req);
  if (!isAdmin(p)) throw new ApiError(403, 'forbidden', `key "${p.name}" may not manage webhooks (needs admin)`);
  return p;
}

/** a subscription as the API shows it: never its secret, only whose secret signs its deliveries */
const view = ({ name, secret, ...rest }: Subscription) => ({
  id: name,
  ...rest,
  signedWith: secret ? 'subscription' : 'SIGNING_SECRET',
  links: { self: `/v1/webhooks/${name}` },
});

export const webhookRoutes: RouteTable<KernelConfig> = ({ config, backend, logger }) => {
  const events = () => webhookEvents(backend, config);
  // a retried subscribe (same Idempotency-Key) answers the subscription the first one made
  const keyed = { 'POST /v1/webhooks': 'the subscription it made' };
  const routes: AnyRoute[] = [
    route({
      method: 'post',
      path: '/v1/webhooks',
      auth: 'key',
      summary: 'Subscribe a URL to job events (job.completed, job.dead, job.cancelled) of some kinds or queues',
      json: true,
      body: subscriptionBody,
      audit: { action: 'webhook.create', detail: (req) => ({ url: String(req.body?.url ?? '') }) },
      responses: {
        '201': ok("subscribed; the answer holds the subscription's signing secret (`secret`), shown only here"),
        '400': err('bad body, or the URL is outside HTTP_TARGET_ALLOWLIST; details name the field'),
        '403': err('needs admin'),
      },
      handle: async (req, res, input) => {
        const p = requireAdmin(req);
        const body = input.body();
        const why = (await targetsOf(config)).checkUrl(body.url);
        if (why) throw new ApiError(400, 'invalid_request', 'the webhook URL is not allowed', [{ path: 'url', message: why }]);
        const secret = body.secret ?? `whsec_${randomBytes(32).toString('base64')}`;
        const record: Subscription = {
          name: `whs_${randomBytes(12).toString('hex')}`,
          ...body,
          secret,
          createdAt: new Date().toISOString(),
        };
        await events().store.put(record);
        events().invalidate();
        logger.info({ subscription: record.name, url: record.url, by: p.name, requestId: req.requestId }, 'webhook subscribed');
        // the one answer that holds the secret: the receiver verifies deliveries with it (docs/webhooks.md)
        res
          .status(201)
          .location(`/v1/webhooks/${record.name}`)
          .json({ ...view(record), secret });
      },
    }),
    route({
      method: 'get',
      path: '/v1/webhooks',
      auth: 'key',
      summary: 'Every webhook subscription',
      responses: { '200': ok('subscriptions'), '403': err('needs admin') },
      handle: async (req, res) => {
        requireAdmin(req);
        const list = await events().store.list();
        list.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
        res.json({ subscriptions: list.map(view) });
      },
    }),
    route({
      method: 'get',
      path: '/v1/webhooks/:id',
      auth: 'key',
      summary: 'One webhook subscription',
      params: idParam,
      responses: { '200': ok('the subscription'), '403': err('needs admin'), '404': err('no such subscription') },
      handle: async (req, res) => {
        requireAdmin(req);
        const s = await events().store.get(String(req.params.id));
        if (!s) throw new ApiError(404, 'not_found', `no webhook subscription "${req.params.id}"`);
        res.json(view(s));
      },
    }),
    route({
      method: 'delete',
      path: '/v1/webhooks/:id',
      auth: 'key',
      summary: 'Remove a webhook subscription (deliveries already queued still go out)',
      params: idParam,
      audit: { action: 'webhook.delete', target: byParam('webhook') },
      responses: { '204': { description: 'removed' }, '403': err('needs admin'), '404': err('no such subscription') },
      handle: async (req, res) => {
        const p = requireAdmin(req);
        const id = String(req.params.id);
        if (!(await events().store.remove(id))) throw new ApiError(404, 'not_found', `no webhook subscription "${id}"`);
        events().invalidate();
        logger.info({ subscription: id, by: p.name, requestId: req.requestId }, 'webhook removed');
        res.status(204).end();
      },
    }),
  ];
  return withIdempotency({ backend, config, logger }, routes, keyed);
};
