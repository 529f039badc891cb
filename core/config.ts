// Every setting comes from the environment, parsed once at boot by this schema.
// The README's config table lists the same variables; keep the two in step.
import { z } from 'zod';

const int = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  z.coerce
    .number({ error: `expects a whole number from ${min} to ${max}` })
    .int({ error: `expects a whole number from ${min} to ${max}` })
    .min(min, { error: `expects a whole number from ${min} to ${max}` })
    .max(max, { error: `expects a whole number from ${min} to ${max}` });

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'], { error: 'expects true or false' })
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const apiKey = z.object({
  name: z.string().min(1),
  /** hex SHA-256 of the key; create one with `npm run keygen`. */
  sha256: z.string().regex(/^[0-9a-f]{64}$/, { error: 'expects 64 lowercase hex characters' }),
  /** job kinds (`email.send`), queues (`queue:email`), `*` for every kind, `admin` for everything. */
  scopes: z.array(z.string().min(1)).min(1),
  /** requests per second for this key; defaults to API_RATE_LIMIT_RPS. */
  rateLimitRps: z.number().int().positive().optional(),
});
export type ApiKeyConfig = z.infer<typeof apiKey>;

const apiKeys = z
  .string()
  .transform((raw, ctx) => {
    try {
      return JSON.parse(raw) as unknown;
    } catch {
      ctx.addIssue({ code: 'custom', message: 'expects a JSON array of {name, sha256, scopes}' });
      return z.NEVER;
    }
  })
  .pipe(z.array(apiKey, { error: 'expects a JSON array of {name, sha256, scopes}' }));

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

/** DASHBOARD_USERS: `[{ "user": "ana", "hash": "scrypt$…", "role": "operator" }]`; hash with `npm run dashboard-user`. */
const dashboardUsers = z
  .string()
  .transform((raw, ctx) => {
    try {
      return JSON.parse(raw) as unknown;
    } catch {
      ctx.addIssue({ code: 'custom', message: 'expects a JSON array of {user, hash, role}' });
      return z.NEVER;
    }
  })
  .pipe(
    z.array(
      z.strictObject({
        user: z.string().regex(/^[\w.@-]{1,64}$/, { error: 'expects 1-64 letters, digits, _ . @ -' }),
        hash: z.string().regex(/^scrypt\$\d+\$\d+\$\d+\$[\w-]+\$[\w-]+$/, { error: 'expects a hash from `npm run dashboard-user`' }),
        role: z.enum(['viewer', 'operator', 'admin']),
      }),
      { error: 'expects a JSON array of {user, hash, role}' },
    ),
  );
export type DashboardUserConfig = z.infer<typeof dashboardUsers>[number];

/** `min:max` replica bounds, e.g. `1:4` (docs/operations.md). */
const minMax = z
  .string()
  .regex(/^\d{1,3}:\d{1,3}$/, { error: 'expects min:max, e.g. 1:4' })
  .transform((raw) => {
    const [min, max] = raw.split(':').map(Number) as [number, number];
    return { min, max };
  })
  .refine((r) => r.max >= 1 && r.min <= r.max, { error: 'expects 0 <= min <= max and max >= 1' });

/** `name@host` or `Display Name <name@host>` */
const mailbox = /^(?:[^<>\r\n]*<[^<>\s@]+@[^<>\s@]+>|[^<>\s@]+@[^<>\s@]+)$/;

const isTimezone = (tz: string) => {
  try {
    return /^[A-Za-z]/.test(tz) && !!new Intl.DateTimeFormat('en-US', { timeZone: tz });
  } catch {
    return false;
  }
};

export const configSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  HOST: z.string().min(1).default('0.0.0.0'),
  /** express `trust proxy`: hops (`1` on Heroku/Render), `true`, `false`, or addresses/subnets (`loopback, 10.0.0.0/8`) */
  TRUST_PROXY: z
    .string()
    .regex(/^(true|false|\d+|[\w.:/, -]+)$/, { error: 'expects a hop count, true, false, or a comma list of addresses/subnets' })
    .transform((v): boolean | number | string => (v === 'true' ? true : v === 'false' ? false : /^\d+$/.test(v) ? Number(v) : v))
    .default('loopback'),
  PORT: int(0, 65535).default(3000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** unset: bullmq when REDIS_URL is set, else pgboss (DATABASE_URL, or an embedded PostgreSQL under `npm start`) */
  QUEUE_ENGINE: z.enum(['bullmq', 'pgboss'], { error: 'expects bullmq or pgboss' }).optional(),
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/, error: 'expects a postgres:// URL' }).optional(),
  EMBEDDED_POSTGRES_PORT: int(1, 65535).default(54329),
  PGBOSS_POLL_INTERVAL_MS: int(100, 60_000).default(2_000),
  REDIS_URL: z.url({ protocol: /^rediss?$/, error: 'expects a redis:// or rediss:// URL' }).default('redis://127.0.0.1:6379'),
  REDIS_AUTOSTART: bool.optional(),
  DATA_DIR: z.string().min(1).default('.data'),
  QUEUE_PREFIX: z
    .string()
    .regex(/^[a-zA-Z0-9_-]+$/, { error: 'expects letters, digits, _ or -' })
    .default('conveyor'),
  API_KEYS: apiKeys.optional(),
  API_RATE_LIMIT_RPS: int(1).default(100),
  MAX_BODY_BYTES: int(1024).default(1_048_576),
  BULK_MAX_JOBS: int(1, 100_000).default(1000),
  IDEMPOTENCY_TTL_SECONDS: int(1).default(86_400),
  RETENTION_COMPLETED_SECONDS: int(1).default(86_400),
  RETENTION_COMPLETED_COUNT: int(1).default(10_000),
  RETENTION_FAILED_SECONDS: int(1).default(604_800),
  RETENTION_FAILED_COUNT: int(1).default(50_000),
  WORKER_QUEUES: workerQueues.default({ '*': undefined }),
  WORKER_SHUTDOWN_GRACE_MS: int(0, 600_000).default(25_000),
  WORKER_LOCK_DURATION_MS: int(1000).default(30_000),
  WORKER_STALLED_INTERVAL_MS: int(1000).default(30_000),
  WORKER_MAX_STALLED_COUNT: int(0, 100).default(2),
  // email (workers/email/README.md)
  SMTP_URL: z.url({ protocol: /^smtps?$/, error: 'expects an smtp:// or smtps:// URL' }).optional(),
  EMAIL_FROM: z
    .string()
    .regex(mailbox, { error: 'expects an address, e.g. `Acme <no-reply@acme.test>`' })
    .default('Conveyor <no-reply@localhost>'),
  EMAIL_REPLY_TO: z.string().regex(mailbox, { error: 'expects an address, e.g. `support@acme.test`' }).optional(),
  EMAIL_RATE_PER_SECOND: int(1, 100_000).default(10),
  EMAIL_SMTP_POOL_SIZE: int(1, 100).default(5),
  EMAIL_UNSUBSCRIBE_URL: z
    .url({ protocol: /^(https|mailto)$/, error: 'expects an https: or mailto: URL' })
    .default('mailto:unsubscribe@localhost?subject=unsubscribe'),
  EMAIL_LEDGER_TTL_SECONDS: int(3600).default(604_800),
  EMAIL_CATCHER_PORT: int(0, 65535).default(1025),
  EMAIL_CATCHER_MAX: int(1, 100_000).default(200),
  // operations: metrics, tracing, scaling (docs/operations.md)
  METRICS_TOKEN: z.string().min(16, { error: 'expects at least 16 characters' }).optional(),
  WORKER_METRICS_PORT: int(0, 65535).optional(),
  OTEL_EXPORTER_OTLP_ENDPOINT: z.url({ protocol: /^https?$/, error: 'expects an http(s):// URL' }).optional(),
  OTEL_SERVICE_NAME: z.string().min(1).default('conveyor'),
  SCALING_TARGET_LATENCY_SECONDS: int(1, 86_400).default(10),
  SCALING_WINDOW_SECONDS: int(10, 3600).default(60),
  SCALING_WORKER_REPLICAS: minMax.default({ min: 1, max: 10 }),
  WORKER_AUTOSCALE: minMax.optional(),
  WORKER_AUTOSCALE_INTERVAL_MS: int(100, 600_000).default(5_000),
  WORKER_AUTOSCALE_UP_COOLDOWN_MS: int(0, 3_600_000).default(15_000),
  WORKER_AUTOSCALE_DOWN_COOLDOWN_MS: int(0, 3_600_000).default(120_000),
  DASHBOARD_USERS: dashboardUsers.optional(),
  DASHBOARD_SESSION_SECRET: z.string().min(32, { error: 'expects at least 32 characters' }).optional(),
  DASHBOARD_SESSION_TTL_SECONDS: int(60, 30 * 86_400).default(28_800),
  DASHBOARD_LOGIN_ATTEMPTS: int(1, 1000).default(10),
  // reports (workers/reports/README.md)
  REPORTS_DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/, error: 'expects a postgres:// URL' }).optional(),
  REPORTS_DIR: z.string().min(1).optional(),
  /** comma list: the first signs download links, every one verifies (rotation) */
  REPORTS_SIGNING_SECRET: z
    .string()
    .transform((s) => s.split(',').map((x) => x.trim()))
    .pipe(z.array(z.string().min(32, { error: 'expects secrets of at least 32 characters, comma-separated' })))
    .optional(),
  REPORTS_LINK_TTL_SECONDS: int(60, 30 * 86_400).default(604_800),
  REPORTS_RETENTION_SECONDS: int(60).default(604_800),
  REPORTS_PUBLIC_URL: z.url({ protocol: /^https?$/, error: 'expects an http(s):// URL' }).optional(),
  REPORTS_DEMO: bool.optional(),
  // search indexing (workers/search/README.md)
  ELASTICSEARCH_URL: z.url({ protocol: /^https?$/, error: 'expects an http(s):// URL' }).optional(),
  ELASTICSEARCH_API_KEY: z.string().min(1).optional(),
  SEARCH_INDEX_PREFIX: z
    .string()
    .regex(/^[a-z0-9][a-z0-9_-]{0,50}$/, { error: 'expects lowercase letters, digits, _ or -' })
    .default('conveyor'),
  SEARCH_BULK_MAX_ITEMS: int(1, 10_000).default(100),
  SEARCH_BULK_MAX_BYTES: int(1024, 100_000_000).default(5_000_000),
  SEARCH_BULK_WAIT_MS: int(0, 60_000).default(50),
  SEARCH_REQUEST_TIMEOUT_MS: int(100, 600_000).default(30_000),
  SEARCH_TARGETS_TTL_MS: int(0, 60_000).default(1_000),
  SEARCH_REINDEX_SETTLE_MS: int(0, 600_000).default(5_000),
  SEARCH_SOURCE_DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/, error: 'expects a postgres:// URL' }).optional(),
  // scheduler (docs/scheduler.md)
  SCHEDULER_RELOAD_MS: int(100, 60_000).default(1_000),
  SCHEDULER_CATCHUP_GRACE_MS: int(0, 60_000).default(2_000),
  SCHEDULER_MISFIRE_TOLERANCE_MS: int(1_000, 86_400_000).default(60_000),
  SCHEDULER_TIMEZONE: z.string().refine(isTimezone, { error: 'expects an IANA timezone, e.g. UTC or Europe/Berlin' }).default('UTC'),
  SCHEDULES_DISABLED: z
    .string()
    .regex(/^[a-z0-9][a-z0-9_.-]*(,[a-z0-9][a-z0-9_.-]*)*$/, { error: 'expects a comma list of schedule names' })
    .transform((s) => s.split(','))
    .default([]),
  /** JSON `{ "<built-in name>": { "cron"?, "timezone"?, "misfire"?, "enabled"?, "data"? } }`, checked when the scheduler starts */
  SCHEDULES_OVERRIDES: z.string().optional(),
  OPS_EMAIL: z.email({ error: 'expects an email address' }).default('ops@example.com'),
  DEAD_LETTER_RETENTION_SECONDS: int(3600).default(30 * 86_400),
});

export type Config = Omit<z.infer<typeof configSchema>, 'QUEUE_ENGINE'> & { QUEUE_ENGINE: 'bullmq' | 'pgboss' };

export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(readonly problems: { variable: string; message: string }[]) {
    super(`invalid configuration:\n${problems.map((p) => `  ${p.variable}: ${p.message}`).join('\n')}`);
  }
}

/** Parse the environment once. Empty strings count as unset. Throws ConfigError naming each bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const input: Record<string, string> = {};
  for (const key of Object.keys(configSchema.shape)) {
    const v = env[key];
    if (v !== undefined && v !== '') input[key] = v;
  }
  const parsed = configSchema.safeParse(input);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((i) => {
        const variable = String(i.path[0] ?? '?');
        const rest = i.path.slice(1).join('.');
        return { variable, message: rest ? `${rest}: ${i.message}` : `${i.message} (got ${JSON.stringify(input[variable])})` };
      }),
    );
  }
  // REDIS_URL set → bullmq; otherwise pgboss on DATABASE_URL, or on an embedded PostgreSQL (`npm start`)
  const config: Config = { ...parsed.data, QUEUE_ENGINE: parsed.data.QUEUE_ENGINE ?? (input.REDIS_URL ? 'bullmq' : 'pgboss') };
  if (config.NODE_ENV === 'production' && !config.API_KEYS) {
    throw new ConfigError([{ variable: 'API_KEYS', message: 'is required when NODE_ENV=production' }]);
  }
  if (config.NODE_ENV === 'production' && config.QUEUE_ENGINE === 'pgboss' && !config.DATABASE_URL) {
    throw new ConfigError([
      { variable: 'DATABASE_URL', message: 'is required when NODE_ENV=production and the engine is pgboss (or set REDIS_URL)' },
    ]);
  }
  if (config.NODE_ENV === 'production' && config.DASHBOARD_USERS && !config.DASHBOARD_SESSION_SECRET) {
    throw new ConfigError([
      { variable: 'DASHBOARD_SESSION_SECRET', message: 'is required when NODE_ENV=production and DASHBOARD_USERS is set' },
    ]);
  }
  if (config.NODE_ENV === 'production' && config.REPORTS_DATABASE_URL && !config.REPORTS_SIGNING_SECRET) {
    throw new ConfigError([
      { variable: 'REPORTS_SIGNING_SECRET', message: 'is required when NODE_ENV=production and REPORTS_DATABASE_URL is set' },
    ]);
  }
  if (config.NODE_ENV === 'production' && config.REPORTS_DATABASE_URL && !config.REPORTS_PUBLIC_URL) {
    throw new ConfigError([
      {
        variable: 'REPORTS_PUBLIC_URL',
        message: 'is required when NODE_ENV=production and REPORTS_DATABASE_URL is set (download links point there)',
      },
    ]);
  }
  if (config.REPORTS_RETENTION_SECONDS < config.REPORTS_LINK_TTL_SECONDS) {
    throw new ConfigError([
      { variable: 'REPORTS_RETENTION_SECONDS', message: `expects at least REPORTS_LINK_TTL_SECONDS (${config.REPORTS_LINK_TTL_SECONDS})` },
    ]);
  }
  if (config.RETENTION_COMPLETED_SECONDS < config.IDEMPOTENCY_TTL_SECONDS) {
    throw new ConfigError([
      {
        variable: 'RETENTION_COMPLETED_SECONDS',
        message: `expects at least IDEMPOTENCY_TTL_SECONDS (${config.IDEMPOTENCY_TTL_SECONDS}), so a repeated key finds its job`,
      },
    ]);
  }
  return config;
}
