// The dashboard (dashboard/, docs/dashboard.md): who may sign in and how long a session lasts.
import { z } from 'zod';
import { int, jsonArray } from './fields.ts';
import { defineSection } from './section.ts';

/** DASHBOARD_USERS: `[{ "user": "ana", "hash": "scrypt$…", "role": "operator" }]`; hash with `npm run dashboard-user`. */
const dashboardUser = z.strictObject({
  user: z.string().regex(/^[\w.@-]{1,64}$/, { error: 'expects 1-64 letters, digits, _ . @ -' }),
  hash: z.string().regex(/^scrypt\$\d+\$\d+\$\d+\$[\w-]+\$[\w-]+$/, { error: 'expects a hash from `npm run dashboard-user`' }),
  role: z.enum(['viewer', 'operator', 'admin']),
});
export type DashboardUserConfig = z.infer<typeof dashboardUser>;

export const dashboardSection = defineSection(
  'dashboard',
  {
    DASHBOARD_USERS: jsonArray(dashboardUser, '{user, hash, role}').optional(),
    /** unset outside production: generated once under DATA_DIR (core/dev-secrets.ts) */
    DASHBOARD_SESSION_SECRET: z.string().min(32, { error: 'expects at least 32 characters' }).optional(),
    DASHBOARD_SESSION_TTL_SECONDS: int(60, 30 * 86_400).default(28_800),
    DASHBOARD_LOGIN_ATTEMPTS: int(1, 1000).default(10),
  },
  [
    {
      variable: 'DASHBOARD_SESSION_SECRET',
      reads: ['NODE_ENV', 'DASHBOARD_USERS', 'DASHBOARD_SESSION_SECRET'],
      problem: (c: { NODE_ENV: string; DASHBOARD_USERS?: unknown; DASHBOARD_SESSION_SECRET?: string }) =>
        c.NODE_ENV === 'production' && c.DASHBOARD_USERS && !c.DASHBOARD_SESSION_SECRET
          ? 'is required when NODE_ENV=production and DASHBOARD_USERS is set'
          : undefined,
    },
  ],
);
