// The reports domain: `report.generate` runs a named SQL report into a file and returns a signed,
// expiring download link (optionally emailed). Doc: ./README.md.
import { defineDomain } from '../../core/domain.ts';
import { type ReportsConfig, reportsSection } from './config.ts';
import { reportsKinds, reportsQueues } from './kinds.ts';

export const reportsDomain = defineDomain({
  name: 'reports',
  doc: 'workers/reports/README.md',
  config: reportsSection,
  kinds: reportsKinds,
  queues: reportsQueues,
  handlers: async (deps) => (await import('./handlers.ts')).createReportsModule()(deps),
  routes: async () => (await import('./routes.ts')).reportRoutes,
  readiness: async () => {
    const { postgresCheck } = await import('../../core/postgres-readiness.ts');
    return [postgresCheck<ReportsConfig>('postgres (reports)', (c) => c.REPORTS_DATABASE_URL)];
  },
  release: async () => [(await import('./demo-data.ts')).reportsDemoReleaseTask],
  // the demo report needs its database; without one it is declared unavailable (still a known name)
  schedules: (config) => [
    {
      name: 'demo-report',
      description: 'Nightly demo report (demo.series, 1000 rows).',
      cron: '0 2 * * *',
      job: { name: 'report.generate', data: { report: 'demo.series', params: { rows: 1000 } } },
      misfire: 'skip',
      unavailable: config.REPORTS_DATABASE_URL ? undefined : 'REPORTS_DATABASE_URL is not set',
    },
  ],
});
