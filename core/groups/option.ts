// `options.group` on enqueue (core/enqueue.ts): which group's limits a job is served under (docs/groups.md).
import { z } from 'zod';

/** the longest group name: it is part of store keys and metric labels */
export const MAX_GROUP_LENGTH = 128;

export const groupOption = z
  .string()
  .min(1)
  .max(MAX_GROUP_LENGTH)
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what it refuses
  .regex(/^[^\u0000-\u001f\u007f]+$/, { error: 'expects printable characters (no control characters)' })
  .optional()
  .describe(
    `the job's group (tenant, customer, SMTP provider; at most ${MAX_GROUP_LENGTH} characters): served fairly with the other groups, under its group's concurrency and rate (docs/groups.md)`,
  );
