// Development convenience for `npm start`: when nothing answers at REDIS_URL, start a private
// redis-server under DATA_DIR (installing Debian's package first when we are root on Debian).
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { redisAnswers } from './redis.ts';

const onPath = (cmd: string) => {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};

export class LocalRedisError extends Error {
  override name = 'LocalRedisError';
}

/** Returns a stop function when it started a server, or undefined when one already answered. */
export async function ensureLocalRedis(url: string, dataDir: string, logger: Logger): Promise<(() => Promise<void>) | undefined> {
  if (await redisAnswers(url)) return undefined;
  const u = new URL(url);
  const local = ['127.0.0.1', 'localhost', '::1', '[::1]'].includes(u.hostname);
  if (!local) throw new LocalRedisError(`nothing answers at REDIS_URL=${url}; start that Redis or point REDIS_URL at one that runs`);
  if (!onPath('redis-server')) {
    if (process.getuid?.() === 0 && onPath('apt-get')) {
      logger.warn('redis-server is not installed; installing Debian package redis-server with apt-get (one time)');
      execFileSync('sh', ['-c', 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server'], {
        stdio: 'inherit',
      });
    } else {
      throw new LocalRedisError(
        `nothing answers at REDIS_URL=${url} and redis-server is not on PATH. Install Redis (Debian: sudo apt-get install redis-server) or set REDIS_URL to a running server.`,
      );
    }
  }
  const dir = resolve(dataDir, 'redis');
  mkdirSync(dir, { recursive: true });
  const port = u.port || '6379';
  logger.warn({ port, dir }, 'nothing answered at REDIS_URL: starting a private redis-server for development');
  const child: ChildProcess = spawn(
    'redis-server',
    ['--port', port, '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--save', '', '--daemonize', 'no', '--logfile', ''],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const deadline = Date.now() + 10_000;
  while (!(await redisAnswers(url, 300))) {
    if (child.exitCode !== null) throw new LocalRedisError(`redis-server exited with code ${child.exitCode}`);
    if (Date.now() > deadline) throw new LocalRedisError('redis-server did not answer within 10 s');
    await sleep(100);
  }
  return async () => {
    if (child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  };
}
