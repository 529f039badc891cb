// The hosts `npm run multihost` builds on this machine: one Linux network namespace each, all on one bridge that
// lives in a namespace of its own (cvmh-switch), so the subnet exists nowhere else: no address on the machine's
// side, no route, no NAT. Shared by the orchestrator (run.ts, root namespace) and the driver (driver.ts, load host).

export const SUBNET = '10.213.0.0/24';
export const PREFIX_LEN = 24;
export const NS_PREFIX = 'cvmh-';
export const SWITCH_NS = `${NS_PREFIX}switch`;
export const BRIDGE = 'br0';

export type HostRole = 'redis' | 'postgres' | 'mail' | 'web' | 'scheduler' | 'worker' | 'load';

export interface Host {
  /** short name, also the veth name on the switch side (`v-<name>`, at most 15 characters) */
  name: string;
  role: HostRole;
  ns: string;
  address: string;
}

const host = (name: string, role: HostRole, last: number): Host => ({ name, role, ns: `${NS_PREFIX}${name}`, address: `10.213.0.${last}` });

/** worker-3 exists from the start (a machine provisioned but idle) and joins mid-run. */
export const HOSTS: Host[] = [
  host('redis', 'redis', 2),
  host('postgres', 'postgres', 3),
  host('mail', 'mail', 4),
  host('web', 'web', 10),
  host('scheduler', 'scheduler', 11),
  host('worker-1', 'worker', 21),
  host('worker-2', 'worker', 22),
  host('worker-3', 'worker', 23),
  host('load', 'load', 100),
];

export function hostNamed(name: string): Host {
  const h = HOSTS.find((x) => x.name === name);
  if (!h) throw new Error(`no host ${name}`);
  return h;
}

export const PORTS = { redis: 6379, postgres: 5432, smtp: 2525, mailApi: 8025, web: 3000 } as const;

export const urls = {
  redis: () => `redis://${hostNamed('redis').address}:${PORTS.redis}`,
  postgres: (db = 'postgres') => `postgres://postgres@${hostNamed('postgres').address}:${PORTS.postgres}/${db}`,
  smtp: () => `smtp://${hostNamed('mail').address}:${PORTS.smtp}`,
  mailApi: () => `http://${hostNamed('mail').address}:${PORTS.mailApi}`,
  web: () => `http://${hostNamed('web').address}:${PORTS.web}`,
};

export type EngineName = 'bullmq' | 'pgboss';

/** What run.ts hands the driver (MULTIHOST_PLAN, JSON). */
export interface Plan {
  root: string;
  tmp: string;
  engines: EngineName[];
  scale: number;
  /** offered jobs per second over HTTP */
  rate: number;
  /** unfinished jobs above which the load generator holds off */
  maxBacklog: number;
  /** where logs and the result JSON are copied when asked or on failure */
  artifacts: string;
}
