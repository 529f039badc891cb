// The `conveyor` CLI as a real child process (node cli/conveyor.mjs) against setup()'s HTTP server
// and real Redis: enqueue, show, wait with a progress bar, queues, pause/resume, dead letters,
// schedules, scaling; API errors with their field paths; exit codes.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderProgress } from '../cli/progress.ts';
import { describeEngines } from './engines.ts';
import { setup, type TestPlatform } from './helpers.ts';

const CLI = join(import.meta.dirname, '..', 'cli', 'conveyor.mjs');

function run(t: TestPlatform | null, args: string[], env: Record<string, string> = {}) {
  return new Promise<{ code: number | null; stdout: string; stderr: string; json: any }>((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: {
        ...process.env,
        CONVEYOR_URL: t?.baseUrl ?? 'http://127.0.0.1:1',
        CONVEYOR_API_KEY: t?.keys.admin ?? '',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    child.once('error', reject);
    child.once('close', (code) => {
      let json: unknown;
      try {
        json = JSON.parse(stdout);
      } catch {}
      resolve({ code, stdout, stderr, json });
    });
  });
}

describeEngines('conveyor CLI', { timeout: 60_000 }, (engine) => {
  it('enqueues, shows a job, and waits for it with a progress bar', async () => {
    const t = await setup({ engine });
    t.startWorker();
    const [plain, waited] = await Promise.all([
      run(t, ['enqueue', 'diagnostics.noop', '--data', '{"note":"from the cli"}', '--json']),
      run(t, ['enqueue', 'diagnostics.sleep', '-d', '{"ms":300,"tag":"cli-wait"}', '--wait', '--progress', '--json']),
    ]);
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.json).toMatchObject({ name: 'diagnostics.noop', queue: 'default' });
    const shown = await run(t, ['job', plain.json.id, '--json']);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.json).toMatchObject({ id: plain.json.id, data: { note: 'from the cli' } });

    expect(waited.code, waited.stderr).toBe(0);
    expect(waited.json).toMatchObject({ state: 'completed', result: { tag: 'cli-wait', attempt: 1 } });
    expect(waited.stderr).toMatch(/\[█{30}\] 100% completed/);

    const human = await run(t, ['job', plain.json.id]);
    expect(human.stdout).toMatch(new RegExp(`^id\\s+${plain.json.id}$`, 'm'));
    expect(human.stdout).toMatch(/^kind\s+diagnostics\.noop$/m);
  });

  it('prints API errors with their field paths and exits non-zero', async () => {
    const t = await setup({ engine });
    const bad = await run(t, ['enqueue', 'diagnostics.sleep', '--data', '{"ms":"soon","extra":1}']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/400 invalid_request/);
    expect(bad.stderr).toMatch(/^ {2}data\.ms: /m);
    expect(bad.stderr).toMatch(/requestId/);
    const badJson = await run(t, ['enqueue', 'diagnostics.sleep', '--data', '{"ms":"soon"}', '--json']);
    expect(badJson.code).toBe(1);
    expect(badJson.json.error.details.map((d: { path: string }) => d.path)).toContain('data.ms');

    const unknown = await run(t, ['enqueue', 'no.such.kind']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/name: unknown job kind "no\.such\.kind"/);

    const forbidden = await run(t, ['pause', 'default'], { CONVEYOR_API_KEY: t.keys.noopOnly });
    expect(forbidden.code).toBe(1);
    expect(forbidden.stderr).toMatch(/403 forbidden/);
    const unauth = await run(t, ['queues'], { CONVEYOR_API_KEY: 'cvk_wrong' });
    expect(unauth.code).toBe(1);
    expect(unauth.stderr).toMatch(/401 unauthorized: unknown API key/);

    const missing = await run(t, ['job', 'no-such-job']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/404 not_found/);
  });

  it('lists queues, pauses and resumes one', async () => {
    const t = await setup({ engine });
    const paused = await run(t, ['pause', 'default', '--json']);
    expect(paused.code, paused.stderr).toBe(0);
    expect(paused.json).toMatchObject({ name: 'default', paused: true });
    const table = await run(t, ['queues']);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^QUEUE\s+PAUSED\s+WAITING/m);
    expect(table.stdout).toMatch(/^default\s+yes\s+0/m);
    const resumed = await run(t, ['resume', 'default']);
    expect(resumed.stdout.trim()).toBe('default running');
    const json = await run(t, ['queues', '--json']);
    expect(json.json.queues.find((q: { name: string }) => q.name === 'default').paused).toBe(false);
  });

  it('lists and replays dead letters; --wait exits 3 when the job dies', async () => {
    const t = await setup({ engine });
    t.startWorker();
    const died = await run(t, ['enqueue', 'diagnostics.sleep', '-d', '{"ms":1,"fail":"permanent","tag":"cli-dead"}', '--wait', '--json']);
    expect(died.code, died.stderr).toBe(3);
    expect(died.json).toMatchObject({ state: 'dead' });
    const list = await run(t, ['dead-letters', '--queue', 'default', '--json']);
    expect(list.code, list.stderr).toBe(0);
    expect(list.json.deadLetters.map((d: { id: string }) => d.id)).toEqual([died.json.id]);
    const human = await run(t, ['dead-letters']);
    expect(human.stdout).toContain(died.json.id);
    const replay = await run(t, ['dead-letters', 'replay', died.json.id, '--wait', '--json']);
    expect(replay.code).toBe(3); // it fails permanently again, but it ran again under its own id
    expect(replay.json).toMatchObject({ id: died.json.id, state: 'dead', attempts: { made: 1 } });
    const gone = await run(t, ['dead-letters', 'replay', 'no-such-id']);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toMatch(/404 not_found/);
  });

  it('lists schedules and runs one now', async (ctx) => {
    const t = await setup({ engine });
    const probe = await t.api('GET', '/v1/schedules');
    if (probe.status === 404 || probe.status === 501) {
      console.warn(`skipping the schedules CLI test: GET /v1/schedules answered ${probe.status} (${JSON.stringify(probe.body)})`);
      ctx.skip();
    }
    const put = await t.api('PUT', '/v1/schedules/cli-nightly', {
      cron: '0 3 * * *',
      timezone: 'Europe/Berlin',
      job: { name: 'diagnostics.noop', data: { note: 'nightly' } },
    });
    expect(put.status, JSON.stringify(put.body)).toBe(201);
    const list = await run(t, ['schedules', '--json']);
    expect(list.code, list.stderr).toBe(0);
    expect(list.json.schedules.map((s: { name: string }) => s.name)).toContain('cli-nightly');
    const human = await run(t, ['schedules', 'list']);
    expect(human.stdout).toMatch(/^cli-nightly\s+0 3 \* \* \*\s+Europe\/Berlin\s+diagnostics\.noop\s+yes/m);
    const ran = await run(t, ['schedules', 'run', 'cli-nightly', '--json']);
    expect(ran.code, ran.stderr).toBe(0);
    expect(ran.json).toMatchObject({ name: 'diagnostics.noop', queue: 'default' });
    const job = await t.api('GET', `/v1/jobs/${ran.json.id}`);
    expect(job.body.data).toEqual({ note: 'nightly' });
    const none = await run(t, ['schedules', 'run', 'no-such-schedule']);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/404 not_found/);
  });

  it('shows the scaling signal', async () => {
    const t = await setup({ engine });
    const r = await run(t, ['scaling', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.processTypes.worker).toMatchObject({ recommendedReplicas: 1, minReplicas: 1, maxReplicas: 10 });
    const human = await run(t, ['scaling']);
    expect(human.stdout).toMatch(/^worker\s/m);
  });
});

describe('conveyor CLI usage', () => {
  it('rejects bad usage with exit 2 before calling the API', async () => {
    const [json, prio, cmd, unreachable] = await Promise.all([
      run(null, ['enqueue', 'diagnostics.noop', '--data', '{not json']),
      run(null, ['enqueue', 'diagnostics.noop', '--priority', '11']),
      run(null, ['frobnicate']),
      run(null, ['queues']),
    ]);
    expect(json.code).toBe(2);
    expect(json.stderr).toMatch(/--data: not valid JSON/);
    expect(prio.code).toBe(2);
    expect(prio.stderr).toMatch(/--priority expects a whole number from 1 to 10/);
    expect(cmd.code).toBe(2);
    expect(cmd.stderr).toMatch(/unknown command 'frobnicate'/);
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toMatch(/cannot reach http:\/\/127\.0\.0\.1:1/);
  });
});

describe('renderProgress', () => {
  it('draws the bar from numeric or {percent} progress', () => {
    expect(renderProgress({ id: 'j1', state: 'active', progress: 50 }, 1500, 10)).toBe('[█████░░░░░]  50% active    1.5s  j1');
    expect(renderProgress({ id: 'j1', state: 'active', progress: { percent: 20 } }, 0, 10)).toMatch(/^\[██░{8}\] {2}20%/);
    expect(renderProgress({ id: 'j1', state: 'waiting', progress: null }, 0, 10)).toMatch(/^\[░{10}\] {3}\?%/);
    expect(renderProgress({ id: 'j1', state: 'completed', progress: null }, 0, 4)).toMatch(/^\[████\] 100%/);
  });
});
