// Real processes on each engine: what a setting changes at boot. SCHEDULES_DISABLED may name a built-in
// this deployment cannot run (demo-report without REPORTS_DATABASE_URL) and a name that exists nowhere
// exits 78 naming the variable, without a stack; a worker that does not serve the email queue opens no
// mail catcher (nor any other domain's connections).
import { connect, createServer, type Server } from 'node:net';
import { expect, it } from 'vitest';
import { describeEngines } from './engines.ts';
import { setup } from './helpers.ts';
import { spawnConveyor } from './processes.ts';

const START_MS = 45_000;

/** A port nothing listens on now (bound, then released). */
async function freePort(): Promise<number> {
  const s: Server = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** true when something accepts connections on 127.0.0.1:`port`. */
const listening = (port: number) =>
  new Promise<boolean>((resolve) => {
    const c = connect(port, '127.0.0.1');
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });

describeEngines('process configuration', { timeout: 120_000 }, (engine) => {
  it('web starts with SCHEDULES_DISABLED=demo-report and no reports database; an unknown name exits 78 naming the variable', async () => {
    const t = await setup({ engine });
    const env = { ...t.env, PORT: '0', REPORTS_DATABASE_URL: '', SCHEDULES_DISABLED: 'demo-report' };
    const web = spawnConveyor('web', env);
    // before the fix: fatal ScheduleConfigError with its stack, exit 1
    await web.waitForLog((l) => typeof l.msg === 'string' && l.msg.startsWith('web listening'), 'web listening', START_MS);
    expect(web.logs.filter((l) => l.level === 60)).toEqual([]);
    web.child.kill('SIGTERM');
    expect((await web.exited).code).toBe(0);

    const bad = spawnConveyor('web', { ...env, SCHEDULES_DISABLED: 'no-such-schedule' });
    let stderr = '';
    bad.child.stderr?.on('data', (d) => {
      stderr += String(d);
    });
    expect((await bad.exited).code).toBe(78);
    expect(stderr).toMatch(/SCHEDULES_DISABLED: no built-in schedule "no-such-schedule"/);
    expect(stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  it('a worker serving only the default queue starts no mail catcher; one serving email does', async () => {
    const t = await setup({ engine });
    await t.backend.release?.run();
    const port = await freePort();
    const env = { ...t.env, SMTP_URL: '', EMAIL_CATCHER_PORT: String(port) };
    const other = spawnConveyor('worker', { ...env, WORKER_QUEUES: 'default' });
    await other.waitForLog((l) => l.msg === 'consuming' && l.queue === 'default', 'consuming default', START_MS);
    // before the fix the catcher listened on EMAIL_CATCHER_PORT here too
    expect(await listening(port)).toBe(false);
    other.child.kill('SIGTERM');
    expect((await other.exited).code).toBe(0);

    const mail = spawnConveyor('worker', { ...env, WORKER_QUEUES: 'email' });
    await mail.waitForLog((l) => l.msg === 'consuming' && l.queue === 'email', 'consuming email', START_MS);
    expect(await listening(port)).toBe(true);
    mail.child.kill('SIGTERM');
    expect((await mail.exited).code).toBe(0);
  });
});
