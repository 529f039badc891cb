// The email domain: `email.send` (templates/ + SMTP, at most once per job), the development mail
// catcher, template previews. Doc: ./README.md.
import { defineDomain } from '../../core/domain.ts';
import { emailSection } from './config.ts';
import { emailKinds, emailQueues } from './kinds.ts';

export const emailDomain = defineDomain({
  name: 'email',
  doc: 'workers/email/README.md',
  config: emailSection,
  kinds: emailKinds,
  queues: emailQueues,
  handlers: async (deps) => (await import('./handlers.ts')).createEmailHandlers(deps),
  routes: async () => (await import('./routes.ts')).emailRoutes,
  readiness: async () => [(await import('./smtp-readiness.ts')).smtpReadiness],
  // the provider's messages per second, shared by every worker
  rateLimits: (config) => ({ email: { max: config.EMAIL_RATE_PER_SECOND, durationMs: 1000 } }),
  dashboard: async (deps) => (await import('./dashboard.ts')).emailDashboard(deps),
});
