// Outbound HTTP for the platform: the allowlist (HTTP_TARGET_ALLOWLIST) and one Standard Webhooks signed
// POST per call. HTTP-target kinds (workers/http/) and completion webhooks use it; nothing else may send
// requests to user-given URLs. See docs/http-kinds.md.
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { KernelConfig } from '../config/index.ts';
import { devSecret } from '../dev-secrets.ts';
import { Allowlist, type DeniedEndpoint } from './allowlist.ts';
import { newSigningSecret, OutboundClient } from './post.ts';

export { Allowlist, type AllowlistEntry, type DeniedEndpoint, normalizeAddress, parseEntry } from './allowlist.ts';
export {
  newSigningSecret,
  OutboundClient,
  type OutboundClientOptions,
  OutboundError,
  type PostResponse,
  retryAfterMs,
  type SecretList,
  type SignedPost,
  secretProblem,
} from './post.ts';

type OutboundConfig = Pick<
  KernelConfig,
  | 'NODE_ENV'
  | 'DATA_DIR'
  | 'REDIS_URL'
  | 'DATABASE_URL'
  | 'EMBEDDED_POSTGRES_PORT'
  | 'HTTP_TARGET_ALLOWLIST'
  | 'SIGNING_SECRET'
  | 'HTTP_TARGET_MAX_RESPONSE_BYTES'
>;

/** SIGNING_SECRET, or in development a generated one kept in DATA_DIR/signing-secret; undefined in production without it. */
export function resolveSigningSecret(config: OutboundConfig): string | undefined {
  if (config.SIGNING_SECRET) return config.SIGNING_SECRET;
  if (config.NODE_ENV === 'production') return undefined;
  return devSecret(config, 'signing-secret', newSigningSecret).value;
}

/** The platform's own store endpoints as addresses (names resolved now): never outbound targets. */
export async function storeEndpoints(config: OutboundConfig): Promise<DeniedEndpoint[]> {
  const urls: { host: string; port: number }[] = [];
  const add = (raw: string | undefined, defaultPort: number) => {
    if (!raw) return;
    const u = new URL(raw);
    urls.push({ host: u.hostname.replace(/^\[|\]$/g, ''), port: Number(u.port || defaultPort) });
  };
  add(config.REDIS_URL, 6379);
  add(config.DATABASE_URL, 5432);
  // the embedded PostgreSQL `npm start` may run (no DATABASE_URL): refused whichever engine runs, at no cost
  if (!config.DATABASE_URL) urls.push({ host: '127.0.0.1', port: config.EMBEDDED_POSTGRES_PORT });
  const out: DeniedEndpoint[] = [];
  for (const { host, port } of urls) {
    if (isIP(host)) {
      out.push({ address: host, port });
      continue;
    }
    try {
      for (const a of await lookup(host, { all: true })) out.push({ address: a.address, port });
    } catch {
      // a store name that does not resolve here cannot be reached through it either
    }
  }
  return out;
}

/** The process's outbound client, from config. */
export async function createOutbound(config: OutboundConfig): Promise<OutboundClient> {
  const allowlist = new Allowlist(config.HTTP_TARGET_ALLOWLIST.entries).denyEndpoints(await storeEndpoints(config));
  return new OutboundClient({
    allowlist,
    defaultSecret: resolveSigningSecret(config),
    maxResponseBytes: config.HTTP_TARGET_MAX_RESPONSE_BYTES,
  });
}

const checkers = new WeakMap<object, Promise<Allowlist>>();

/** The allowlist with the platform's store endpoints denied, once per config: what a declaration or a callback URL is checked against. */
export function targetsOf(config: OutboundConfig): Promise<Allowlist> {
  let p = checkers.get(config);
  if (!p) {
    p = storeEndpoints(config).then((e) => new Allowlist(config.HTTP_TARGET_ALLOWLIST.entries).denyEndpoints(e));
    checkers.set(config, p);
  }
  return p;
}
