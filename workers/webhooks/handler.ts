// Running one delivery (a `webhooks.deliver` job): POST `{ type, timestamp, data }` to the receiver,
// signed per Standard Webhooks with `webhook-id` = the event's message id (the same on every retry and
// for every receiver of the event), through core/outbound (allowlist checked per request and per resolved
// address, no redirects, timeout). What the answer means:
//   2xx                         → delivered (the result records status and time)
//   410 Gone                    → dead at once (the receiver says it wants no more)
//   429 / 503 with Retry-After  → retry after the hint (capped at WEBHOOK_RETRY_CAP_MS)
//   anything else, no answer    → retry after WEBHOOK_RETRY_BASE_MS · 2^(attempt-1), capped, half jittered;
//                                 after WEBHOOK_ATTEMPTS runs the delivery is dead-lettered (replayable)
//   target refused (allowlist)  → dead at once
// A delivery written before its event (payload.check: job.cancelled, written before the cancel) first reads
// the job: in the announced state → sent, with the job as it now is; in another final state, gone, or still
// waiting/delayed past check.until → completed unsent ({ sent: false }: the event did not happen); still
// pending before that (or active: its worker is stopping it) → asked again later.

import type { Backend } from '../../core/backend.ts';
import type { Engine } from '../../core/engine.ts';
import { PermanentError, RetryLaterError } from '../../core/errors/index.ts';
import type { HandlerContext } from '../../core/handler.ts';
import { type DeliveryPayload, jobEventData, webhookEvents } from '../../core/outbound/events.ts';
import { type OutboundClient, OutboundError, retryAfterMs, type SecretList } from '../../core/outbound/index.ts';
import { signingSecrets } from './secrets.ts';

export interface DeliverySettings {
  WEBHOOK_RETRY_BASE_MS: number;
  WEBHOOK_RETRY_CAP_MS: number;
  WEBHOOK_TIMEOUT_MS: number;
}

/** Retry number `attempt`'s delay: exponential, capped, the upper half jittered (never a hot loop). */
export function retryDelay(s: DeliverySettings, attempt: number, random = Math.random): number {
  const exp = Math.min(s.WEBHOOK_RETRY_CAP_MS, s.WEBHOOK_RETRY_BASE_MS * 2 ** Math.max(0, attempt - 1));
  return Math.floor(exp / 2 + (random() * exp) / 2);
}

/** The body every receiver of one event gets. */
export const deliveryBody = (p: DeliveryPayload) => JSON.stringify({ type: p.type, timestamp: p.timestamp, data: p.data });

/** How soon a delivery whose event is not yet stored looks again. */
const CHECK_AGAIN_MS = 1_000;
const CHECK_AGAIN_MAX_MS = 5_000;

/**
 * What signs a delivery to a subscription, read at delivery time (SecretList: undefined entries are
 * SIGNING_SECRET): its own secret, and during a rotation's grace the previous one beside it.
 */
export type SecretOf = (receiver: string) => Promise<SecretList>;

/**
 * The subscriptions' secrets from their store, read per delivery (a retry after a rotation signs with the
 * current pair); a deleted subscription's deliveries still go out, signed with SIGNING_SECRET.
 */
export const subscriptionSecrets =
  (backend: Backend): SecretOf =>
  async (receiver) =>
    signingSecrets(await webhookEvents(backend).store.get(receiver), Date.now());

export function deliverer(
  out: OutboundClient,
  s: DeliverySettings,
  engine: Pick<Engine, 'getJob'>,
  secretOf: SecretOf = async () => undefined,
) {
  return async (payload: DeliveryPayload, ctx: HandlerContext) => {
    const retry = (why: string, hintMs?: number): never => {
      throw new RetryLaterError(why, Math.min(hintMs ?? retryDelay(s, ctx.attempt), s.WEBHOOK_RETRY_CAP_MS));
    };
    let p = payload;
    if (p.check) {
      const { jobId, state, until } = p.check;
      const job = await engine.getJob(jobId);
      if (job?.state === state) p = { ...p, data: jobEventData(job) };
      else if (job?.state === 'active') return retry(`job ${jobId} is still active: its ${p.type} is not stored yet`);
      else if (
        job &&
        (job.state === 'waiting' || job.state === 'delayed') &&
        Date.now() < Date.parse(until) &&
        ctx.attempt < ctx.maxAttempts
      ) {
        // each look spends an attempt: the pause grows so the attempts outlast the window, and the last
        // one concludes unsent rather than dead-lettering (a later cancel writes the next intent: intend)
        return retry(
          `job ${jobId} is ${job.state}: its ${p.type} is not stored yet`,
          Math.min(CHECK_AGAIN_MS * ctx.attempt, CHECK_AGAIN_MAX_MS),
        );
      } else return { sent: false, reason: `job ${jobId} is ${job?.state ?? 'gone'}, not ${state}: no ${p.type} happened` };
    }
    // the receiver's own secret(s) (a subscription's), or the platform's (callbacks, older subscriptions)
    const secret = p.receiver === 'callback' ? undefined : await secretOf(p.receiver);
    let status: number;
    let headers: Record<string, string | string[] | undefined>;
    let body: string;
    try {
      ({ status, headers, body } = await out.post({
        url: p.url,
        id: p.messageId,
        body: deliveryBody(p),
        secret,
        signal: ctx.signal,
        timeoutMs: s.WEBHOOK_TIMEOUT_MS,
      }));
    } catch (err) {
      if (err instanceof OutboundError && (err.code === 'refused' || err.code === 'too-large')) throw new PermanentError(err.message);
      if (err instanceof OutboundError) return retry(err.message);
      throw err; // the signal's reason: cancel, timeout, shutdown
    }
    if (status >= 200 && status < 300) return { status, deliveredAt: new Date().toISOString(), attempt: ctx.attempt };
    const start = body.slice(0, 200).replace(/\s+/g, ' ').trim();
    const why = `HTTP ${status}${start ? `: ${start}` : ''}`;
    if (status === 410) throw new PermanentError(`${why} (the receiver is gone)`);
    if (status === 429 || status === 503) return retry(why, retryAfterMs(headers['retry-after']));
    return retry(why);
  };
}
