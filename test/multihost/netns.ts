// Network namespaces for the multihost run, through Debian's iproute2 (`ip`). Everything is created under the
// cvmh- prefix and removed by name; processes are ended by the pids `ip netns pids` lists for our namespaces.
import { execFileSync, spawnSync } from 'node:child_process';
import { BRIDGE, HOSTS, type Host, NS_PREFIX, PREFIX_LEN, SWITCH_NS } from './topology.ts';

export function ip(...args: string[]): string {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${(r.stderr || r.stdout || `exit ${r.status}`).trim()}`);
  return r.stdout;
}

export function ourNamespaces(): string[] {
  return ip('netns', 'list')
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n.startsWith(NS_PREFIX));
}

export function pidsIn(ns: string): number[] {
  const r = spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' });
  if (r.status !== 0) return [];
  return r.stdout
    .split(/\s+/)
    .filter(Boolean)
    .map(Number)
    .filter((n) => Number.isInteger(n) && n > 1 && n !== process.pid);
}

/** SIGKILL every process in the namespace (a host losing power, as far as its processes go). Returns the pids. */
export function killAllIn(ns: string): number[] {
  const pids = pidsIn(ns);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  return pids;
}

/** Bridge in its own namespace, one veth pair per host: `v-<host>` on the bridge, `eth0` in the host. */
export function buildNetwork(hosts: Host[] = HOSTS): void {
  ip('netns', 'add', SWITCH_NS);
  ip('-n', SWITCH_NS, 'link', 'set', 'lo', 'up');
  ip('-n', SWITCH_NS, 'link', 'add', BRIDGE, 'type', 'bridge');
  ip('-n', SWITCH_NS, 'link', 'set', BRIDGE, 'up');
  for (const h of hosts) {
    const sw = `v-${h.name}`;
    ip('netns', 'add', h.ns);
    ip('-n', SWITCH_NS, 'link', 'add', sw, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', h.ns);
    ip('-n', SWITCH_NS, 'link', 'set', sw, 'master', BRIDGE, 'up');
    ip('-n', h.ns, 'link', 'set', 'lo', 'up');
    ip('-n', h.ns, 'addr', 'add', `${h.address}/${PREFIX_LEN}`, 'dev', 'eth0');
    ip('-n', h.ns, 'link', 'set', 'eth0', 'up');
  }
}

/**
 * What keeps traffic inside: no namespace has a default route, the switch has no address, and each host's only
 * routes are the subnet's. Throws if any of that does not hold.
 */
export function checkIsolation(hosts: Host[] = HOSTS): string {
  const problems: string[] = [];
  for (const ns of [SWITCH_NS, ...hosts.map((h) => h.ns)]) {
    const routes = ip('-n', ns, '-4', 'route', 'show').trim();
    if (/^default/m.test(ip('-n', ns, '-4', 'route', 'show', 'default'))) problems.push(`${ns} has a default route`);
    if (ns === SWITCH_NS && routes) problems.push(`${ns} has routes: ${routes}`);
    if (ns !== SWITCH_NS && routes.split('\n').some((r) => r && !r.startsWith('10.213.0.0/24 '))) problems.push(`${ns}: ${routes}`);
  }
  const swAddrs = ip('-n', SWITCH_NS, '-4', '-o', 'addr', 'show').trim();
  if (swAddrs.split('\n').some((l) => l && !/ lo /.test(l))) problems.push(`switch has an address: ${swAddrs}`);
  if (problems.length) throw new Error(`network is not isolated: ${problems.join('; ')}`);
  return `${hosts.length} hosts on ${BRIDGE} in ${SWITCH_NS}; no default route anywhere; the switch has no address`;
}

/** Kill every process in our namespaces, then delete the namespaces (their veths and the bridge go with them). */
export async function destroyNetwork(): Promise<{ killed: number; left: string[] }> {
  let killed = 0;
  const namespaces = ourNamespaces();
  for (const ns of namespaces) killed += killAllIn(ns).length;
  const deadline = Date.now() + 10_000;
  while (namespaces.some((ns) => pidsIn(ns).length > 0) && Date.now() < deadline) {
    for (const ns of namespaces) killAllIn(ns);
    await new Promise((r) => setTimeout(r, 100));
  }
  for (const ns of namespaces) {
    try {
      ip('netns', 'del', ns);
    } catch {
      // reported below through `left`
    }
  }
  return { killed, left: ourNamespaces() };
}

export function haveIp(): boolean {
  try {
    execFileSync('ip', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
