// Worker processes: which queues they consume and how they hold and give back jobs.
import { z } from 'zod';
import { int } from './fields.ts';
import { defineSection } from './section.ts';

/** `email:5,default:10` → { email: 5, default: 10 }; `*` → every queue at its catalog concurrency. */
const workerQueues = z
  .string()
  .regex(/^(\*|[a-z][a-z0-9_-]*(:\d+)?)(,(\*|[a-z][a-z0-9_-]*(:\d+)?))*$/, {
    error: 'expects `*` or a comma list of queue[:concurrency], e.g. `email:5,default:10`',
  })
  .transform((raw) => {
    const out: Record<string, number | undefined> = {};
    for (const part of raw.split(',')) {
      const [name, n] = part.split(':');
      out[name as string] = n === undefined ? undefined : Number(n);
    }
    return out;
  });

export const workerSection = defineSection('worker', {
  WORKER_QUEUES: workerQueues.default({ '*': undefined }),
  /** also bounds every process's whole shutdown (core/lifecycle.ts) */
  WORKER_SHUTDOWN_GRACE_MS: int(0, 600_000).default(25_000),
  WORKER_LOCK_DURATION_MS: int(1000).default(30_000),
  WORKER_STALLED_INTERVAL_MS: int(1000).default(30_000),
  WORKER_MAX_STALLED_COUNT: int(0, 100).default(2),
  /** a waiting job's priority rises by one (toward 1) per this many seconds waited; 0 = strict priorities */
  PRIORITY_AGING_SECONDS: int(0, 86_400).default(60),
});
