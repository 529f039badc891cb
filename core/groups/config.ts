// Group limits (docs/groups.md): the defaults every group of a queue gets, and the reaper's pace.
import { z } from 'zod';
import { int } from '../config/fields.ts';
import { defineSection } from '../config/section.ts';
import type { GroupDefaults } from './types.ts';

const perQueue = z.record(
  z.string().regex(/^[a-z][a-z0-9_-]*$/),
  z.strictObject({
    concurrency: z.int().min(1).max(100_000).optional(),
    ratePerSecond: z.number().min(0).max(1_000_000).optional(),
  }),
);

const groupLimitsJson = z
  .string()
  .transform((raw, ctx) => {
    try {
      return JSON.parse(raw) as unknown;
    } catch {
      ctx.addIssue({ code: 'custom', message: 'expects JSON: {"<queue>": {"concurrency"?, "ratePerSecond"?}}' });
      return z.NEVER;
    }
  })
  .pipe(perQueue);

export const groupsSection = defineSection('groups', {
  /** jobs of one group released into its queue at once (running or waiting for a worker), every process together */
  GROUP_CONCURRENCY: int(1, 100_000).default(1),
  /** starts per second per group; 0 = no rate limit */
  GROUP_RATE_PER_SECOND: z.coerce.number({ error: 'expects a number >= 0' }).min(0, { error: 'expects a number >= 0' }).default(0),
  /** per-queue defaults over the two above, e.g. {"email": {"concurrency": 5, "ratePerSecond": 10}} */
  GROUP_LIMITS: groupLimitsJson.optional(),
  /** how often each worker process repairs slots (crashed runs, cancelled jobs) and releases due delayed jobs */
  GROUP_SWEEP_MS: int(100, 600_000).default(5_000),
  /** a slot held this long is checked against its job (final or gone: freed) */
  GROUP_REAP_AFTER_MS: int(100, 86_400_000).default(30_000),
  /** groups shown by name in metrics; the rest add up under group="other" */
  GROUP_METRICS_TOP: int(0, 1_000).default(20),
});

export interface GroupsConfig {
  GROUP_CONCURRENCY: number;
  GROUP_RATE_PER_SECOND: number;
  GROUP_LIMITS?: Record<string, { concurrency?: number; ratePerSecond?: number }>;
}

/** A queue's group defaults: GROUP_LIMITS, then the catalog's queue definition, then GROUP_CONCURRENCY / _RATE_PER_SECOND. */
export function groupDefaultsFor(
  config: GroupsConfig,
  catalog: (queue: string) => Partial<GroupDefaults> | undefined = () => undefined,
): (queue: string) => GroupDefaults {
  return (queue) => {
    const env = config.GROUP_LIMITS?.[queue];
    const def = catalog(queue);
    return {
      concurrency: env?.concurrency ?? def?.concurrency ?? config.GROUP_CONCURRENCY,
      ratePerSecond: env?.ratePerSecond ?? def?.ratePerSecond ?? config.GROUP_RATE_PER_SECOND,
    };
  };
}
