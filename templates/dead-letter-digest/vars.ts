import { z } from 'zod';
import { defineTemplate, formatUtc, linkUrl } from '../define.ts';

export default defineTemplate({
  vars: z.strictObject({
    /** one row per queue with dead letters */
    queues: z
      .array(
        z.strictObject({
          queue: z.string().min(1).max(100),
          count: z.int().min(0),
          /** when the oldest dead letter of this queue died (ISO-8601) */
          oldest: z.iso.datetime({ offset: true, error: 'expects an ISO-8601 date-time' }),
        }),
      )
      .max(500),
    dashboardUrl: linkUrl(),
  }),
  view: (v) => ({
    total: v.queues.reduce((n, q) => n + q.count, 0),
    queues: v.queues.map((q) => ({ ...q, oldestText: formatUtc(q.oldest) })),
  }),
});
