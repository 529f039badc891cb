// The reports domain's settings (workers/reports/README.md).
import { z } from 'zod';
import { bool, defineSection, int, type KernelConfig, postgresUrl, type SectionValues } from '../../core/config/index.ts';

const shape = {
  REPORTS_DATABASE_URL: postgresUrl().optional(),
  REPORTS_DIR: z.string().min(1).optional(),
  /** comma list: the first signs download links, every one verifies (rotation); unset outside production: generated under DATA_DIR */
  REPORTS_SIGNING_SECRET: z
    .string()
    .transform((s) => s.split(',').map((x) => x.trim()))
    .pipe(z.array(z.string().min(32, { error: 'expects secrets of at least 32 characters, comma-separated' })))
    .optional(),
  REPORTS_LINK_TTL_SECONDS: int(60, 30 * 86_400).default(604_800),
  REPORTS_RETENTION_SECONDS: int(60).default(604_800),
  REPORTS_DEMO: bool.optional(),
};
type Checked = SectionValues<typeof shape> & { NODE_ENV: string; REPORTS_PUBLIC_URL?: string };
const inProductionWithReports = (c: Checked) => c.NODE_ENV === 'production' && !!c.REPORTS_DATABASE_URL;

export const reportsSection = defineSection<typeof shape, Checked>('reports', shape, [
  {
    variable: 'REPORTS_SIGNING_SECRET',
    reads: ['NODE_ENV', 'REPORTS_DATABASE_URL', 'REPORTS_SIGNING_SECRET'],
    problem: (c) =>
      inProductionWithReports(c) && !c.REPORTS_SIGNING_SECRET
        ? 'is required when NODE_ENV=production and REPORTS_DATABASE_URL is set'
        : undefined,
  },
  {
    variable: 'REPORTS_PUBLIC_URL',
    reads: ['NODE_ENV', 'REPORTS_DATABASE_URL', 'REPORTS_PUBLIC_URL'],
    problem: (c) =>
      inProductionWithReports(c) && !c.REPORTS_PUBLIC_URL
        ? 'is required when NODE_ENV=production and REPORTS_DATABASE_URL is set (download links point there)'
        : undefined,
  },
  {
    variable: 'REPORTS_RETENTION_SECONDS',
    reads: ['REPORTS_RETENTION_SECONDS', 'REPORTS_LINK_TTL_SECONDS'],
    problem: (c) =>
      c.REPORTS_RETENTION_SECONDS < c.REPORTS_LINK_TTL_SECONDS
        ? `expects at least REPORTS_LINK_TTL_SECONDS (${c.REPORTS_LINK_TTL_SECONDS})`
        : undefined,
  },
]);

/** What the reports domain reads: the kernel's settings and its own. */
export type ReportsConfig = KernelConfig & SectionValues<typeof shape>;
