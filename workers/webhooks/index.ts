// The webhooks domain: completion webhooks (docs/webhooks.md). Events are emitted by core/outbound/events.ts
// (the worker's settler for completed/dead/cancelled runs, the cancel routes, other features' own events);
// each delivery is a job of this domain's queue, retried, dead-lettered and replayable like any job.
// Its routes manage admin subscriptions (POST/GET/DELETE /v1/webhooks).
import { defineDomain } from '../../core/domain.ts';
import { webhooksKinds, webhooksQueues } from './kinds.ts';

export const webhooksDomain = defineDomain({
  name: 'webhooks',
  doc: 'docs/webhooks.md',
  kinds: webhooksKinds,
  queues: webhooksQueues,
  handlers: async (deps) => {
    const { createOutbound } = await import('../../core/outbound/index.ts');
    const { deliverer, subscriptionSecrets } = await import('./handler.ts');
    const out = await createOutbound(deps.config);
    const handler = deliverer(out, deps.config, deps.engine, subscriptionSecrets(deps.backend));
    return { handlers: { 'webhooks.deliver': handler }, close: async () => out.close() };
  },
  routes: async () => (await import('./routes.ts')).webhookRoutes,
});
