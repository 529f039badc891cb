// vitest globalSetup: make sure the real services the tests talk to are there, so `npm test` passes on a
// bare Debian machine with only Node. Each is used as found when it already answers:
//   Redis       REDIS_URL (default redis://127.0.0.1:6379), else a private redis-server (installed with
//               apt-get when missing and we are root), via core/local-redis.ts;
//   PostgreSQL  TEST_DATABASE_URL (default postgres://postgres:postgres@127.0.0.1:5432/test), else a real
//               PostgreSQL from the embedded-postgres package on a free port;
//   Chromium    /usr/bin/chromium for the dashboard's browser tests, else apt-get install chromium.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { pino } from 'pino';
import { ensureLocalRedis } from '../core/engines/bullmq/local-redis.ts';
import { postgresAnswers, startEmbeddedPostgres } from '../core/engines/pgboss/embedded-postgres.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const log = pino({ level: 'info', base: { process: 'test-setup' } });
const DEFAULT_PG = 'postgres://postgres:postgres@127.0.0.1:5432/test';

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
  if (await postgresAnswers(url)) {
    process.env.TEST_DATABASE_URL = url;
    return undefined;
  }
  // A server may answer without the `test` database: create it.
  const admin = new URL(url);
  admin.pathname = '/postgres';
  if (await postgresAnswers(admin.toString())) {
    const c = new pg.Client({ connectionString: admin.toString() });
    await c.connect();
    await c.query(`create database "${new URL(url).pathname.slice(1) || 'test'}"`).catch(() => {});
    await c.end();
    process.env.TEST_DATABASE_URL = url;
    return undefined;
  }
  // the same embedded server `npm start` uses (core/pgboss/embedded-postgres.ts), kept under .data/test
  const server = await startEmbeddedPostgres({ dataDir: resolve(root, '.data', 'test'), port: await freePort(), logger: log });
  process.env.TEST_DATABASE_URL = server.url;
  return server.stop;
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
