// The HTTP API (producers/): where it listens, who may call it, request limits.
import { z } from 'zod';
import { bool, httpUrl, int, jsonArray } from './fields.ts';
import { defineSection, type SectionValues } from './section.ts';

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

const shape = {
  HOST: z.string().min(1).default('0.0.0.0'),
  /** express `trust proxy`: hops (`1` on Heroku/Render), `true`, `false`, or addresses/subnets (`loopback, 10.0.0.0/8`) */
  TRUST_PROXY: z
    .string()
    .regex(/^(true|false|\d+|[\w.:/, -]+)$/, { error: 'expects a hop count, true, false, or a comma list of addresses/subnets' })
    .transform((v): boolean | number | string => (v === 'true' ? true : v === 'false' ? false : /^\d+$/.test(v) ? Number(v) : v))
    .default('loopback'),
  /** use X-Forwarded-Host as the site for the dashboard's same-origin check: only if the proxy sets (and strips) it */
  TRUST_FORWARDED_HOST: bool.default(false),
  PORT: int(0, 65535).default(3000),
  /** a request's headers must arrive within this; its whole body within HTTP_REQUEST_TIMEOUT_MS (slow-body clients) */
  HTTP_HEADERS_TIMEOUT_MS: int(1000).default(10_000),
  HTTP_REQUEST_TIMEOUT_MS: int(1000).default(30_000),
  /** open connections per web process; more are refused (0 = no cap) */
  HTTP_MAX_CONNECTIONS: int(0).default(1000),
  /** failed authentications (no or unknown API key) per client IP and minute before 429 */
  API_AUTH_FAILURES_PER_MINUTE: int(1).default(60),
  /** Strict-Transport-Security max-age on answers over https (0 = no header) */
  HSTS_MAX_AGE_SECONDS: int(0).default(15_552_000),
  API_KEYS: jsonArray(apiKey, '{name, sha256, scopes}').optional(),
  API_RATE_LIMIT_RPS: int(1).default(100),
  MAX_BODY_BYTES: int(1024).default(1_048_576),
  BULK_MAX_JOBS: int(1, 100_000).default(1000),
  IDEMPOTENCY_TTL_SECONDS: int(1).default(86_400),
  /** open long-polls (`?wait=`) plus event streams per web process; beyond it → 503 + Retry-After */
  PUSH_MAX_CONNECTIONS: int(1, 100_000).default(1000),
  /** seconds between keep-alive comments on an event stream */
  SSE_KEEPALIVE_SECONDS: int(1, 300).default(15),
  /** the web process's public base URL: report download links, the dead-letter digest's dashboard link */
  REPORTS_PUBLIC_URL: httpUrl().optional(),
};
type Checked = SectionValues<typeof shape> & { NODE_ENV: string; RETENTION_COMPLETED_SECONDS: number };

export const serverSection = defineSection<typeof shape, Checked>('server', shape, [
  {
    variable: 'API_KEYS',
    reads: ['NODE_ENV', 'API_KEYS'],
    problem: (c) => (c.NODE_ENV === 'production' && !c.API_KEYS ? 'is required when NODE_ENV=production' : undefined),
  },
  {
    variable: 'RETENTION_COMPLETED_SECONDS',
    reads: ['RETENTION_COMPLETED_SECONDS', 'IDEMPOTENCY_TTL_SECONDS'],
    problem: (c) =>
      c.RETENTION_COMPLETED_SECONDS < c.IDEMPOTENCY_TTL_SECONDS
        ? `expects at least IDEMPOTENCY_TTL_SECONDS (${c.IDEMPOTENCY_TTL_SECONDS}), so a repeated key finds its job`
        : undefined,
  },
]);
