// The ops domain: platform housekeeping run by its built-in schedules (dead-letter digest, retention
// cleanup). Doc: ./README.md.
import { defineDomain } from '../../core/domain.ts';
import { publicBaseUrl } from '../../core/http/public-url.ts';
import { opsSection } from './config.ts';
import { opsKinds, opsQueues } from './kinds.ts';

export const opsDomain = defineDomain({
  name: 'ops',
  doc: 'workers/ops/README.md',
  config: opsSection,
  kinds: opsKinds,
  queues: opsQueues,
  handlers: async (deps) => (await import('./handlers.ts')).opsModule(deps),
  schedules: (config) => [
    {
      name: 'dead-letter-digest',
      description: 'Daily email to OPS_EMAIL listing dead letters per queue (sent only when there are any).',
      cron: '0 8 * * *',
      job: {
        name: 'ops.dead-letter-digest',
        data: { to: config.OPS_EMAIL, dashboardUrl: `${publicBaseUrl(config)}/admin/dead-letters` },
      },
      misfire: 'once',
    },
    {
      name: 'retention-cleanup',
      description: 'Hourly: removes finished jobs past their retention and dead letters older than DEAD_LETTER_RETENTION_SECONDS.',
      cron: '17 * * * *',
      job: { name: 'ops.retention-cleanup', data: { deadLetterMaxAgeSeconds: config.DEAD_LETTER_RETENTION_SECONDS } },
      misfire: 'once',
    },
  ],
});
