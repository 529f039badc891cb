// /v1/webhooks: admin subscriptions to completion-webhook events (docs/webhooks.md). A subscription names a
// URL (allowlisted like every outbound target) and, optionally, the event types, job kinds and queues it
// wants. Kept in the engine's store (RecordStore `webhook-subscriptions`); every process re-reads it
// within WEBHOOKS_RELOAD_MS, the one that took the change at once. A subscription's secret is rotated with
// a grace during which deliveries carry both signatures (workers/webhooks/secrets.ts).
import { randomBytes } from 'node:crypto';
import type { Request } from 'express';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { KernelConfig } from '../../core/config/index.ts';
import { ApiError } from '../../core/http/api-error.ts';
import { withIdempotency } from '../../core/http/idempotent-route.ts';
import { err, ok } from '../../core/http/openapi.ts';
import { isAdmin, principalOf } from '../../core/http/principal.ts';
import { type AnyRoute, byParam, type RouteTable, requireJson, route } from '../../core/http/route.ts';
import { JOB_EVENTS, type Subscription, type WebhookEvents, webhookEvents } from '../../core/outbound/events.ts';
import { newSigningSecret, secretProblem, targetsOf } from '../../core/outbound/index.ts';
import { inGrace, rotated } from './secrets.ts';

/** Event types a subscription may name: the jobs', and the workflows' (emitted once workflows exist). */
export const KNOWN_EVENTS = [...JOB_EVENTS, 'flow.completed', 'flow.failed'] as const;

const secretField = z
  .string()
  .max(200)
  .refine((v) => secretProblem(v) === undefined, { error: 'expects whsec_<base64 of 24 to 64 bytes>' })
  .optional();

const names = z.array(z.string().min(1).max(200)).max(100).default([]);
export const subscriptionBody = z.strictObject({
  url: z.url({ protocol: /^https?$/, error: 'expects an http(s) URL' }).max(2048),
  events: z.array(z.enum(KNOWN_EVENTS)).max(KNOWN_EVENTS.length).default([]).describe('empty: every event'),
  kinds: names.describe('job kinds; with queues empty too: every kind'),
  queues: names.describe('queues; with kinds empty too: every queue'),
  description: z.string().max(500).optional(),
  secret: secretField.describe("this receiver's signing secret (whsec_<base64>); omitted: one is generated and answered once"),
});

/** the longest grace a rotation may give the old secret: 7 days */
export const MAX_GRACE_SECONDS = 604_800;
export const rotateBody = z.strictObject({
  secret: secretField.describe('the new signing secret (whsec_<base64>); omitted: one is generated and answered once'),
  graceSeconds: z
    .int()
    .min(0)
    .max(MAX_GRACE_SECONDS)
    .default(86_400)
    .describe('how long the current secret keeps signing beside the new one (both signatures sent); 0: dropped at once'),
});

const idParam = z.strictObject({ id: z.string() });

function requireAdmin(req: Request) {
  const p = principalOf(req);
  if (!isAdmin(p)) throw new ApiError(403, 'forbidden', `key "${p.name}" may not manage webhooks (needs admin)`);
  return p;
}

/**
 * a subscription as the API shows it: never a secret, only whose secret signs its deliveries and, during a
 * rotation's grace, until when the previous one signs too
 */
const view = (s: Subscription, now = Date.now()) => {
  const { name, secret, previousSecret: _, previousSecretExpiresAt, ...rest } = s;
  return {
    id: name,
    ...rest,
    signedWith: secret ? 'subscription' : 'SIGNING_SECRET',
    ...(inGrace(s, now) ? { previousSecretExpiresAt } : {}),
    links: { self: `/v1/webhooks/${name}` },
  };
};

/** a request with a body (a body-less POST from fetch or curl still says content-length: 0) */
const hasBody = (req: Request) => req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
const notFound = (id: string) => new ApiError(404, 'not_found', `no webhook subscription "${id}"`);

/**
 * How many times a rotation reads again when another write came between its read and its write, and the
 * jittered pause before each retry: rotations at once each win a round in turn, so without the pause the
 * slowest of N racing ones can lose N times over (CI 2026-12-03: 6 at once, one answered 409 after 5 tries).
 */
const ROTATE_TRIES = 12;
const rotatePause = (tries: number) => new Promise((r) => setTimeout(r, Math.random() * 5 * Math.min(tries, 8)));

/** POST /v1/webhooks/:id/rotate-secret (docs/webhooks.md, "Rotating a secret") */
const rotateRoute = (events: () => WebhookEvents, logger: Logger): AnyRoute =>
  route({
    method: 'post',
    path: '/v1/webhooks/:id/rotate-secret',
    auth: 'key',
    summary: "Rotate a subscription's signing secret; the old one keeps signing beside it for graceSeconds",
    description:
      'During the grace every delivery carries two signatures (`v1,<new> v1,<old>` in webhook-signature), so a receiver ' +
      'verifying with either secret accepts it; a second rotation replaces the previous secret with the current one. ' +
      'A subscription signed with SIGNING_SECRET gets its own secret, SIGNING_SECRET being the previous one. The body is optional.',
    params: idParam,
    body: rotateBody,
    audit: { action: 'webhook.rotate', target: byParam('webhook') },
    responses: {
      '200': ok('rotated: the subscription, its new `secret` (shown only here) and `previousSecretExpiresAt` (null: dropped at once)'),
      '400': err('bad body (secret, graceSeconds), or the secret given is the current one; details name the field'),
      '403': err('needs admin'),
      '404': err('no such subscription'),
      '409': err('the subscription kept changing (other rotations) while this one ran; retry after Retry-After'),
    },
    handle: async (req, res, input) => {
      const p = requireAdmin(req);
      if (hasBody(req)) requireJson(req); // no body at all is fine: a generated secret, a day's grace
      const body = input.body();
      const id = String(req.params.id);
      const { store } = events();
      // read, rotate, write back only over what was read (compare-and-set): two rotations at once chain
      // (the second keeps the first's secret as its previous) instead of one silently losing its secret,
      // and a subscription deleted meanwhile is not brought back
      let record: Subscription | undefined;
      let now = Date.now();
      for (let tries = 0; !record; tries++) {
        if (tries > 0) await rotatePause(tries); // before the read, so what is written is as fresh as can be
        const s = await store.get(id);
        if (!s) throw notFound(id);
        if (body.secret !== undefined && body.secret === s.secret) {
          throw new ApiError(400, 'invalid_request', 'the new secret must differ from the current one', [
            { path: 'secret', message: 'is the current secret' },
          ]);
        }
        if (tries === ROTATE_TRIES) {
          throw new ApiError(409, 'conflict', 'the subscription kept changing while it was rotated; try again', [], { 'Retry-After': '1' });
        }
        now = Date.now();
        const next = rotated(s, body, now);
        if (await store.replace(s, next)) record = next;
      }
      events().invalidate();
      logger.info({ subscription: id, graceSeconds: body.graceSeconds, by: p.name, requestId: req.requestId }, 'webhook secret rotated');
      res.json({ ...view(record, now), secret: record.secret, previousSecretExpiresAt: record.previousSecretExpiresAt ?? null });
    },
  });

export const webhookRoutes: RouteTable<KernelConfig> = ({ config, backend, logger }) => {
  const events = () => webhookEvents(backend, config);
  // a retried subscribe (same Idempotency-Key) answers the subscription the first one made
  const keyed = {
    'POST /v1/webhooks': 'the subscription it made',
    // and a retried rotation answers the secret the first one made (a second rotation would drop the old one)
    'POST /v1/webhooks/:id/rotate-secret': 'the rotation it made, its new secret included',
  };
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
        const secret = body.secret ?? newSigningSecret();
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
        if (!s) throw notFound(String(req.params.id));
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
        if (!(await events().store.remove(id))) throw notFound(id);
        events().invalidate();
        logger.info({ subscription: id, by: p.name, requestId: req.requestId }, 'webhook removed');
        res.status(204).end();
      },
    }),
    rotateRoute(events, logger),
  ];
  return withIdempotency({ backend, config, logger }, routes, keyed);
};
