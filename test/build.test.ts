// The compiled production build: `npm run build` (tsc → dist/, plus the SQL and templates the code reads at
// runtime) succeeds, the Procfile runs those files on plain `node`, and on each engine the built release, web
// and worker processes boot (TypeScript stripping off, so nothing falls back to a .ts source) and run a job
// posted over the built web's HTTP API. Development and `npm start` keep tsx (checked in package.json).
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { generateApiKey } from '../producers/auth.ts';
import { describeEngines } from './engines.ts';
import { setup, waitFor } from './helpers.ts';
import { spawnBuilt } from './processes.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const START_MS = 60_000;
const TYPES = ['web', 'worker', 'scheduler', 'release'] as const;

/** `type: node dist/processes/<type>.js` → the entry file. */
function procfileEntry(type: string): string {
  const line = readFileSync(join(root, 'Procfile'), 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${type}:`));
  const argv = (line ?? '')
    .slice(type.length + 1)
    .trim()
    .split(/\s+/);
  expect(argv[0], `Procfile ${type}: runs node`).toBe('node');
  return argv[argv.length - 1] as string;
}

beforeAll(async () => {
  // the real build command, as a buildpack runs it (the slot wrapper is outside: this is one tsc run)
  await promisify(execFile)('npm', ['run', 'build'], { cwd: root, timeout: 400_000 });
}, 420_000);

describe('npm run build', () => {
  it('the Procfile runs compiled JavaScript from dist on node; development keeps tsx', () => {
    for (const type of TYPES) {
      const entry = procfileEntry(type);
      expect(entry).toBe(`dist/processes/${type}.js`);
      expect(existsSync(join(root, entry)), entry).toBe(true);
    }
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
    expect(pkg.scripts.build).toContain('tsc -p tsconfig.build.json');
    expect(pkg.scripts.start).toBe('tsx processes/all.ts');
    // runtime assets next to the code that reads them
    expect(existsSync(join(root, 'dist/core/engines/pgboss/sql/cancel-job.sql'))).toBe(true);
    expect(existsSync(join(root, 'dist/templates/welcome/template.mjml'))).toBe(true);
    expect(existsSync(join(root, 'dist/workers/search/templates/products.json'))).toBe(true);
  });
});

describeEngines('built processes', { timeout: 240_000 }, (engine) => {
  it('release, web and worker from dist boot on plain node and run a job posted to the built web', async () => {
    const t = await setup({ engine });
    const key = generateApiKey();
    const env = {
      ...t.env,
      API_KEYS: JSON.stringify([{ name: 'built', sha256: key.sha256, scopes: ['admin'] }]),
      WORKER_QUEUES: 'default',
    };
    const release = spawnBuilt(procfileEntry('release'), env);
    expect((await release.exited).code).toBe(0);

    const web = spawnBuilt(procfileEntry('web'), { ...env, PORT: '0', HOST: '127.0.0.1' });
    const worker = spawnBuilt(procfileEntry('worker'), env);
    const listening = await web.waitForLog((l) => l.msg?.toString().startsWith('web listening') ?? false, 'built web listening', START_MS);
    await worker.waitForLog((l) => l.msg === 'consuming' && l.queue === 'default', 'built worker consuming', START_MS);

    const base = `http://127.0.0.1:${listening.port}`;
    const headers = { authorization: `Bearer ${key.key}`, 'content-type': 'application/json' };
    const posted = await fetch(`${base}/v1/jobs`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ name: 'diagnostics.noop', data: { note: 'built' } }),
    });
    expect(posted.status).toBe(202);
    const { id } = (await posted.json()) as { id: string };
    const job = await waitFor(
      async () => {
        const j = (await (await fetch(`${base}/v1/jobs/${id}`, { headers })).json()) as { state: string; result?: unknown };
        return j.state === 'completed' && j;
      },
      { what: 'job completed by the built worker', timeoutMs: 60_000 },
    );
    expect(job.state).toBe('completed');
    expect(worker.logs.some((l) => l.msg === 'job completed' && l.jobId === id)).toBe(true);

    worker.child.kill('SIGTERM');
    web.child.kill('SIGTERM');
    expect((await worker.exited).code).toBe(0);
    expect((await web.exited).code).toBe(0);
  });
});
