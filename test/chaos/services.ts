// The private services a chaos or soak run owns, each on a free loopback port in a temp dir, each
// stoppable and restartable mid-run: Redis (AOF, fsync every second), PostgreSQL (Debian's binaries,
// run as the postgres user when we are root; the same binaries `npm run multihost` finds), a real SMTP server that can go down and come back on the
// same port, and the Elasticsearch stand-in with its fault switches.
import { execFileSync } from 'node:child_process';
import { chownSync, readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { simpleParser } from 'mailparser';
import pg from 'pg';
import { SMTPServer } from 'smtp-server';
import { redisAnswers } from '../../core/engines/bullmq/redis.ts';
import { postgresAnswers } from '../../core/engines/pgboss/embedded-postgres.ts';
import { EsStandin } from '../es-standin/server.ts';
import { postgresBin } from '../multihost/infra.ts';
import { freePort, type Harness, type Proc, repoRoot, waitFor } from './harness.ts';

export class PrivateRedis {
  proc: Proc | undefined;
  private constructor(
    private readonly h: Harness,
    readonly port: number,
    readonly dir: string,
  ) {}

  get url() {
    return `redis://127.0.0.1:${this.port}`;
  }

  static async start(h: Harness): Promise<PrivateRedis> {
    const r = new PrivateRedis(h, await freePort(), h.tempDir('redis'));
    await r.start();
    return r;
  }

  async start() {
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir, '--appendonly', 'yes'];
    args.push('--appendfsync', 'everysec', '--save', '', '--daemonize', 'no', '--logfile', '', '--loglevel', 'warning');
    this.proc = this.h.spawn('redis', 'redis-server', args, { env: process.env });
    await waitFor(() => redisAnswers(this.url, 300) || this.failIfExited(), { what: 'redis answers', timeoutMs: 15_000, intervalMs: 50 });
  }

  private failIfExited(): false {
    if (!this.proc?.alive) throw new Error(`redis-server exited: ${this.proc?.stderrTail}`);
    return false;
  }

  /** SIGKILL: a crash; what was acknowledged must come back from the AOF */
  async crash() {
    await this.proc?.kill('SIGKILL');
  }

  async usedMemory(): Promise<number> {
    const c = new Redis(this.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
    try {
      await c.connect();
      const info = await c.info('memory');
      return Number(/used_memory:(\d+)/.exec(info)?.[1] ?? Number.NaN);
    } finally {
      c.disconnect();
    }
  }

  /**
   * Where the bytes are: every key's MEMORY USAGE summed by pattern (ids and numbers in a key replaced by
   * `<id>`, so `conveyor:{email}:email:<uuid>` is one line), the `limit` largest patterns. A soak-sized
   * store only: it reads every key.
   */
  async sizeReport(limit = 8): Promise<{ pattern: string; mb: number; keys: number }[]> {
    const c = new Redis(this.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
    try {
      await c.connect();
      const by = new Map<string, { bytes: number; keys: number }>();
      let cursor = '0';
      do {
        const [next, keys] = await c.scan(cursor, 'COUNT', 1000);
        cursor = next;
        const pipe = c.pipeline();
        for (const k of keys) pipe.memory('USAGE', k);
        const sizes = (await pipe.exec()) ?? [];
        keys.forEach((k, i) => {
          const pattern = k.replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|\b[0-9a-f]{32,64}\b|\b\d+\b/g, '<id>');
          const e = by.get(pattern) ?? { bytes: 0, keys: 0 };
          e.bytes += Number(sizes[i]?.[1] ?? 0);
          e.keys += 1;
          by.set(pattern, e);
        });
      } while (cursor !== '0');
      return [...by]
        .sort((a, b) => b[1].bytes - a[1].bytes)
        .slice(0, limit)
        .map(([pattern, e]) => ({ pattern, mb: Math.round((e.bytes / 2 ** 20) * 100) / 100, keys: e.keys }));
    } finally {
      c.disconnect();
    }
  }
}

/** uid/gid of the postgres user, when we are root (PostgreSQL refuses to run as root) */
function postgresUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postgres:'));
  if (!line) throw new Error('running as root and there is no postgres user to run PostgreSQL as');
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

export class PrivatePostgres {
  proc: Proc | undefined;
  private readonly pg = postgresBin(repoRoot);
  private readonly user = postgresUser();
  private constructor(
    private readonly h: Harness,
    readonly port: number,
    readonly dir: string,
  ) {}

  /** the database the platform uses */
  get url() {
    return `postgres://postgres@127.0.0.1:${this.port}/conveyor`;
  }

  static async start(h: Harness): Promise<PrivatePostgres> {
    const p = new PrivatePostgres(h, await freePort(), h.tempDir('postgres'));
    if (p.user) chownSync(p.dir, p.user.uid, p.user.gid);
    p.asOwner(join(p.pg.bin, 'initdb'), ['-D', join(p.dir, 'data'), '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync']);
    await p.start();
    const admin = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:${p.port}/postgres` });
    await admin.connect();
    await admin.query('CREATE DATABASE conveyor');
    await admin.end();
    return p;
  }

  /** the embedded-postgres package's binaries (the fallback) need their own libraries */
  private env(): NodeJS.ProcessEnv {
    return { PATH: process.env.PATH, LANG: 'C.UTF-8', ...(this.pg.lib ? { LD_LIBRARY_PATH: this.pg.lib } : {}) };
  }

  private asOwner(command: string, args: string[]) {
    const [cmd, argv] = this.user
      ? ['setpriv', ['--reuid', String(this.user.uid), '--regid', String(this.user.gid), '--init-groups', command, ...args]]
      : [command, args];
    execFileSync(cmd as string, argv as string[], { stdio: ['ignore', 'ignore', 'pipe'], env: this.env() });
  }

  /** the postmaster itself as our child (setpriv execs it), so a signal reaches it and its backends */
  async start() {
    const args = ['-D', join(this.dir, 'data'), '-p', String(this.port), '-c', 'listen_addresses=127.0.0.1'];
    args.push('-c', `unix_socket_directories=${this.dir}`, '-c', 'max_connections=200', '-c', 'log_min_messages=fatal');
    const postgres = join(this.pg.bin, 'postgres');
    const [cmd, argv] = this.user
      ? ['setpriv', ['--reuid', String(this.user.uid), '--regid', String(this.user.gid), '--init-groups', postgres, ...args]]
      : [postgres, args];
    this.proc = this.h.spawn('postgres', cmd as string, argv as string[], { env: this.env() });
    const probe = `postgres://postgres@127.0.0.1:${this.port}/postgres`;
    await waitFor(
      async () => {
        if (!this.proc?.alive) throw new Error(`postgres exited: ${this.proc?.stderrTail}`);
        return postgresAnswers(probe);
      },
      { what: 'postgres answers', timeoutMs: 60_000, intervalMs: 50 },
    );
  }

  /** `pg_ctl restart -m fast` (SIGINT) or `-m immediate` (SIGQUIT: no checkpoint, crash recovery at start) */
  async restart(mode: 'fast' | 'immediate') {
    await this.proc?.kill(mode === 'fast' ? 'SIGINT' : 'SIGQUIT');
    await this.start();
  }

  async databaseBytes(): Promise<number> {
    const c = new pg.Client({ connectionString: this.url });
    await c.connect();
    try {
      const { rows } = await c.query<{ n: string }>('SELECT pg_database_size(current_database())::text AS n');
      return Number(rows[0]?.n);
    } finally {
      await c.end();
    }
  }

  /** where the bytes are: the largest tables (with their indexes and TOAST) and the job rows per queue and state */
  async sizeReport(
    limit = 8,
  ): Promise<{ tables: { table: string; mb: number; rows: number }[]; jobs: { queue: string; state: string; n: number }[] }> {
    const c = new pg.Client({ connectionString: this.url });
    await c.connect();
    try {
      const tables = await c.query<{ table: string; mb: number; rows: number }>(
        `SELECT n.nspname || '.' || r.relname AS table, round(pg_total_relation_size(r.oid) / 1048576.0, 1)::float AS mb,
           GREATEST(s.n_live_tup, 0)::int AS rows
         FROM pg_class r JOIN pg_namespace n ON n.oid = r.relnamespace LEFT JOIN pg_stat_user_tables s ON s.relid = r.oid
         WHERE r.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
         ORDER BY pg_total_relation_size(r.oid) DESC LIMIT $1`,
        [limit],
      );
      // pg-boss's job table, in whichever schema the engine uses
      const schema = await c.query<{ s: string }>(
        `SELECT table_schema AS s FROM information_schema.tables WHERE table_name = 'job' AND table_schema NOT IN ('pg_catalog') LIMIT 1`,
      );
      const s = schema.rows[0]?.s;
      const jobs = s
        ? (
            await c.query<{ queue: string; state: string; n: number }>(
              `SELECT name AS queue, state::text AS state, count(*)::int AS n FROM "${s}".job GROUP BY 1, 2 ORDER BY 3 DESC LIMIT 20`,
            )
          ).rows
        : [];
      return { tables: tables.rows, jobs };
    } finally {
      await c.end();
    }
  }
}

/** A real SMTP server on a fixed port; `down()` closes it (connections refused) and `up()` listens again. */
export class ChaosSmtp {
  /** accepted messages per recipient address */
  readonly delivered = new Map<string, number>();
  private server: SMTPServer | undefined;
  private constructor(readonly port: number) {}

  get url() {
    return `smtp://127.0.0.1:${this.port}`;
  }

  static async start(): Promise<ChaosSmtp> {
    const s = new ChaosSmtp(await freePort());
    await s.up();
    return s;
  }

  async up() {
    const server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      closeTimeout: 500,
      onData: (stream, session, callback) => {
        simpleParser(stream)
          .then(() => {
            for (const rcpt of session.envelope.rcptTo) this.delivered.set(rcpt.address, (this.delivered.get(rcpt.address) ?? 0) + 1);
            callback();
          })
          .catch(callback);
      },
    });
    await new Promise<void>((resolve, reject) => {
      server.server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    if ((server.server.address() as AddressInfo).port !== this.port) throw new Error('SMTP came back on another port');
    this.server = server;
  }

  async down() {
    const s = this.server;
    this.server = undefined;
    if (s) await new Promise<void>((r) => s.close(() => r()));
  }
}

/** The ES stand-in in this process, so a scenario can flip its faults. */
export async function startEsStandin(h: Harness): Promise<EsStandin> {
  const es = new EsStandin();
  await es.start(await freePort());
  h.onClose(() => es.close());
  return es;
}
