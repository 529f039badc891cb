// The `reports` queue and `report.generate`: run a report definition (core/reports/definitions.ts)
// with validated params, stream it to a file and return a signed download link.
import { z } from 'zod';
import { job } from '../../core/kinds.ts';
import { reportDefinitions } from './definitions.ts';

export const reportsQueues = {
  // reports are heavy on the reports database: few at once per worker
  reports: { concurrency: 2 },
} as const;

export const reportFormats = ['csv', 'jsonl'] as const;
export type ReportFormat = (typeof reportFormats)[number];

/** `notify` enqueued an email from the handler; a flow does it now (docs/flows.md, "Passing results on") */
const NOTIFY_MOVED =
  'notify is gone: create a flow of report.generate and email.send (template report-ready) with dataFrom taking the link from the report; workers/reports/README.md';

const variants = reportDefinitions.map((d) =>
  z.strictObject(
    {
      report: z.literal(d.name),
      params: d.params,
      format: z.enum(reportFormats).default('csv'),
    },
    { error: (iss) => (iss.code === 'unrecognized_keys' && iss.keys.includes('notify') ? NOTIFY_MOVED : undefined) },
  ),
);

export const reportsKinds = {
  'report.generate': job({
    queue: 'reports',
    description: `Runs a report (${reportDefinitions.map((d) => d.name).join(', ')}), streams it to a CSV or JSON Lines file and returns a signed, expiring download link (email it with a flow: docs/flows.md).`,
    payload: z.discriminatedUnion('report', variants as unknown as [(typeof variants)[number], ...(typeof variants)[number][]]),
    defaults: {
      priority: 5,
      attempts: 3,
      backoff: { baseMs: 30_000, capMs: 10 * 60_000, jitter: 'full' },
      timeoutMs: 30 * 60_000,
    },
  }),
};
