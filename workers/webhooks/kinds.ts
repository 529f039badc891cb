// The `webhooks` queue and its one kind: a completion-webhook delivery (docs/webhooks.md). Deliveries are
// enqueued by core/outbound/events.ts (the settler, the cancel routes, flows), never by API callers.

import { job } from '../../core/kinds.ts';
import { type DELIVER_KIND, deliveryPayload, WEBHOOKS_QUEUE } from '../../core/outbound/events.ts';

export const webhooksQueues = {
  // I/O-bound: a slot mostly waits for the receiver
  webhooks: { concurrency: 50 },
} as const satisfies Record<typeof WEBHOOKS_QUEUE, { concurrency: number }>;

export const webhooksKinds = {
  'webhooks.deliver': job({
    queue: WEBHOOKS_QUEUE,
    description: 'Delivers one completion-webhook event to one receiver, signed per Standard Webhooks (docs/webhooks.md).',
    payload: deliveryPayload,
    // attempts come with each delivery (WEBHOOK_ATTEMPTS); the handler sets its delays (WEBHOOK_RETRY_*)
    defaults: { attempts: 25, timeoutMs: 11_000, backoff: { baseMs: 5_000, capMs: 3_600_000, jitter: 'full' } },
  }),
} as const satisfies Record<typeof DELIVER_KIND, unknown>;
