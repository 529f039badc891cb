// Where the platform may send HTTP requests (HTTP-target kinds, completion webhooks): HTTP_TARGET_ALLOWLIST,
// a comma list of hosts (`billing.internal`, `*.svc.cluster.local`), host:port (`billing.internal:8080`) and
// CIDRs (`10.0.0.0/8`, `fd00::/8`, `127.0.0.1/32`). Empty allows nothing.
//
// Two checks, both here:
//   checkUrl      at declaration and before each send: scheme, no credentials, the host (name or IP literal)
//                 matches an entry;
//   checkAddress  at connect, on every address DNS gave (post.ts passes it as the socket's `lookup`): never a
//                 link-local/metadata, unspecified or multicast address, nor one of the platform's own store
//                 endpoints (REDIS_URL, DATABASE_URL), whatever the allowlist says — so a name cannot be
//                 pointed at 169.254.169.254 or at the platform's Redis after it was allowed.
import { BlockList, isIP } from 'node:net';

export type AllowlistEntry =
  | { type: 'host'; host: string; port?: number; wildcard: boolean; raw: string }
  | { type: 'cidr'; address: string; prefix: number; family: 'ipv4' | 'ipv6'; raw: string };

/** An address:port the platform itself uses (its Redis, its Postgres): never a target. */
export interface DeniedEndpoint {
  /** an IP address (names are resolved by the caller, see resolveEndpoints in index.ts) */
  address: string;
  port: number;
}

const HOST = /^(\*\.)?([a-z0-9]([a-z0-9-]*[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/;

/** `::ffff:1.2.3.4` → `1.2.3.4`; brackets dropped; lower case. */
export function normalizeAddress(address: string): string {
  let a = address.trim().toLowerCase();
  if (a.startsWith('[') && a.endsWith(']')) a = a.slice(1, -1);
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(a);
  return mapped ? (mapped[1] as string) : a;
}

const familyOf = (address: string): 'ipv4' | 'ipv6' | undefined => {
  const v = isIP(address);
  return v === 4 ? 'ipv4' : v === 6 ? 'ipv6' : undefined;
};

/** One entry, or the reason it is not one. */
export function parseEntry(raw: string): AllowlistEntry | string {
  const s = raw.trim().toLowerCase();
  const slash = s.indexOf('/');
  if (slash >= 0) {
    const address = normalizeAddress(s.slice(0, slash));
    const family = familyOf(address);
    const prefixText = s.slice(slash + 1);
    const prefix = Number(prefixText);
    const max = family === 'ipv4' ? 32 : 128;
    if (!family) return `"${raw}": a CIDR needs an IP address before the /`;
    if (!/^\d{1,3}$/.test(prefixText) || prefix > max) return `"${raw}": the prefix must be 0 to ${max}`;
    return { type: 'cidr', address, prefix, family, raw };
  }
  const bareIp = familyOf(normalizeAddress(s));
  if (bareIp) {
    const address = normalizeAddress(s);
    return { type: 'cidr', address, prefix: bareIp === 'ipv4' ? 32 : 128, family: bareIp, raw };
  }
  // host or host:port; an IPv6 literal with a port is written [::1]:8080
  const m = /^(\[[^\]]+\]|[^:]+)(?::(\d{1,5}))?$/.exec(s);
  if (!m) return `"${raw}": expects a host, host:port or CIDR`;
  const hostPart = normalizeAddress(m[1] as string);
  const port = m[2] === undefined ? undefined : Number(m[2]);
  if (port !== undefined && (port < 1 || port > 65535)) return `"${raw}": the port must be 1 to 65535`;
  if (!familyOf(hostPart) && !HOST.test(hostPart)) return `"${raw}": expects a host, host:port or CIDR`;
  const wildcard = hostPart.startsWith('*.');
  return { type: 'host', host: wildcard ? hostPart.slice(1) : hostPart, port, wildcard, raw };
}

/** Always refused: link-local (the cloud metadata service lives there), unspecified, multicast, broadcast. */
function neverList(): BlockList {
  const list = new BlockList();
  list.addSubnet('169.254.0.0', 16, 'ipv4');
  list.addSubnet('0.0.0.0', 8, 'ipv4');
  list.addSubnet('224.0.0.0', 4, 'ipv4');
  list.addAddress('255.255.255.255', 'ipv4');
  list.addSubnet('fe80::', 10, 'ipv6');
  list.addSubnet('ff00::', 8, 'ipv6');
  list.addAddress('::', 'ipv6');
  list.addAddress('fd00:ec2::254', 'ipv6');
  return list;
}

const LOOPBACK = (a: string) => a === '::1' || a.startsWith('127.');

export class Allowlist {
  private readonly cidrs = new BlockList();
  private readonly never = neverList();
  private readonly hosts: Extract<AllowlistEntry, { type: 'host' }>[];
  private denied: DeniedEndpoint[] = [];

  constructor(readonly entries: readonly AllowlistEntry[]) {
    this.hosts = entries.filter((e): e is Extract<AllowlistEntry, { type: 'host' }> => e.type === 'host');
    for (const e of entries) if (e.type === 'cidr') this.cidrs.addSubnet(e.address, e.prefix, e.family);
  }

  /** `a,b,c` → an allowlist; throws naming every bad entry. */
  static parse(spec: string | undefined): Allowlist {
    const entries: AllowlistEntry[] = [];
    const problems: string[] = [];
    for (const raw of (spec ?? '').split(',')) {
      if (!raw.trim()) continue;
      const e = parseEntry(raw.trim());
      if (typeof e === 'string') problems.push(e);
      else entries.push(e);
    }
    if (problems.length) throw new Error(problems.join('; '));
    return new Allowlist(entries);
  }

  /** The platform's own endpoints (resolved addresses), refused at connect whatever the entries say. */
  denyEndpoints(endpoints: readonly DeniedEndpoint[]): this {
    this.denied = endpoints.map((e) => ({ address: normalizeAddress(e.address), port: e.port }));
    return this;
  }

  /** undefined when `url` may be a target; else why not (the message a 400 or a log shows). */
  checkUrl(url: string | URL): string | undefined {
    let u: URL;
    try {
      u = typeof url === 'string' ? new URL(url) : url;
    } catch {
      return 'is not a URL';
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return 'must be an http:// or https:// URL';
    if (u.username || u.password) return 'must not carry credentials';
    const host = normalizeAddress(u.hostname);
    const port = Number(u.port || (u.protocol === 'https:' ? 443 : 80));
    if (this.entries.length === 0) return 'is not allowed: HTTP_TARGET_ALLOWLIST is empty';
    const family = familyOf(host);
    if (family) {
      const why = this.checkAddress(host, port);
      if (why) return why;
      if (this.cidrs.check(host, family) || this.hostMatches(host, port)) return undefined;
    } else if (this.hostMatches(host, port)) {
      return undefined;
    }
    return `is not allowed: ${u.host} matches no entry of HTTP_TARGET_ALLOWLIST`;
  }

  /** undefined when a socket may connect to address:port; else why not. */
  checkAddress(address: string, port: number): string | undefined {
    const a = normalizeAddress(address);
    const family = familyOf(a);
    if (!family) return `resolved to "${address}", not an IP address`;
    if (this.never.check(a, family)) return `resolves to ${a}, a link-local, unspecified or multicast address`;
    for (const d of this.denied) {
      if (d.port === port && (d.address === a || (LOOPBACK(d.address) && LOOPBACK(a)) || d.address === '0.0.0.0')) {
        return `resolves to ${a}:${port}, one of the platform's own stores`;
      }
    }
    return undefined;
  }

  private hostMatches(host: string, port: number): boolean {
    return this.hosts.some(
      (e) =>
        (e.port === undefined || e.port === port) && (e.wildcard ? host.endsWith(e.host) && host.length > e.host.length : host === e.host),
    );
  }
}
