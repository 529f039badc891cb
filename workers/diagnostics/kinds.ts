// The `default` queue and the diagnostics.* kinds (handlers: ./handlers.ts).
import { z } from 'zod';
import { job } from '../../core/kinds.ts';

export const diagnosticsQueues = {
  default: { concurrency: 20 },
} as const;

export const diagnosticsKinds = {
  'diagnostics.noop': job({
    queue: 'default',
    description: 'Does nothing and completes. Used by smoke tests and the benchmark.',
    payload: z.strictObject({ note: z.string().max(200).optional() }),
  }),
  'diagnostics.sleep': job({
    queue: 'default',
    description:
      'Waits `ms` (honouring cancel and timeout), then completes, or fails as told. Used to check retries, timeouts, cancel and shutdown.',
    payload: z.strictObject({
      ms: z.int().min(0).max(600_000),
      /** fail the first `failAttempts` runs with a transient error, or every run with a permanent one */
      fail: z.enum(['never', 'transient', 'permanent']).default('never'),
      failAttempts: z.int().min(0).max(100).default(0),
      /** opaque label echoed in the result, for tests that track which job ran */
      tag: z.string().max(200).optional(),
    }),
    defaults: { attempts: 3, backoff: { baseMs: 200, capMs: 5_000, jitter: 'full' } },
  }),
};
