// Release step for the Postgres engine: install or migrate pg-boss's schema (pg-boss runs its own
// versioned migrations under an advisory lock), create our table and every catalog queue with its
// dead-letter queue. Idempotent: a second run changes nothing.
import type { ReleaseTask } from '../../../processes/release.ts';
import { PgbossEngine } from './engine.ts';

export const pgbossReleaseTask: ReleaseTask = {
  name: 'pg-boss schema and queues',
  enabled: (config) => config.QUEUE_ENGINE === 'pgboss',
  async run({ engine }) {
    if (!(engine instanceof PgbossEngine)) throw new Error(`pg-boss release step needs the pgboss engine (got ${engine.kind})`);
    await engine.migrate();
  },
};
