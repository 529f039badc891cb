// The `ops` queue: housekeeping jobs its built-in schedules enqueue (./index.ts, applied by scheduler/builtin.ts).
import { z } from 'zod';
import { job } from '../../core/kinds.ts';

export const opsQueues = {
  ops: { concurrency: 1 },
} as const;

export const opsKinds = {
  'ops.dead-letter-digest': job({
    queue: 'ops',
    description:
      'Lists dead letters in every queue and, when there are any, enqueues an `email.send` (template dead-letter-digest) to `to`.',
    payload: z.strictObject({
      to: z.email({ error: 'expects an email address' }),
      dashboardUrl: z.url({ protocol: /^https?$/, error: 'expects an http(s) URL' }).max(2048),
      /** dead letters read per queue */
      limit: z.int().min(1).max(10_000).default(1000),
    }),
    defaults: { attempts: 3, timeoutMs: 60_000 },
  }),
  'ops.retention-cleanup': job({
    queue: 'ops',
    description:
      'Removes finished jobs older than their retention and dead letters older than `deadLetterMaxAgeSeconds` (BullMQ: Queue.clean).',
    payload: z.strictObject({
      deadLetterMaxAgeSeconds: z.int().min(3600),
      /** jobs removed per queue and state in one run */
      limit: z.int().min(1).max(1_000_000).default(10_000),
    }),
    defaults: { attempts: 3, timeoutMs: 10 * 60_000 },
  }),
};
