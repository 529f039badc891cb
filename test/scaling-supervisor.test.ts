// The worker supervisor as real processes, on each engine: `tsx processes/worker.ts` with WORKER_AUTOSCALE=1:3 spawns
// real worker children. A burst of slow jobs scales it to 3, the queue drains, it drains children back
// to 1 with SIGTERM; every job completed exactly once, on its first attempt. And per process type
// (WORKER_PROCESS_TYPE): a supervisor follows its own type's queues — a reports backlog another type owns
// does not scale it, a backlog on its own queue does, and its signal counts only its own queue.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it, onTestFinished } from 'vitest';
import { toEnqueueRequest, validateJob } from '../producers/enqueue.ts';
import { describeEngines } from './engines.ts';
import { setup, waitFor } from './helpers.ts';

interface LogLine {
  msg?: string;
  pid?: number;
  to?: number;
  from?: number;
  jobId?: string;
  code?: number | null;
  drained?: boolean;
  role?: string;
  [k: string]: unknown;
}

function startSupervisor(env: Record<string, string>) {
  const lines: LogLine[] = [];
  const proc = spawn(process.execPath, ['--import', 'tsx', 'processes/worker.ts'], {
    cwd: join(import.meta.dirname, '..'),
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let buf = '';
  let errText = '';
  proc.stdout?.on('data', (chunk: Buffer) => {
    buf += chunk.toString();
    const parts = buf.split('\n');
    buf = parts.pop() ?? '';
    for (const p of parts) {
      try {
        lines.push(JSON.parse(p) as LogLine);
      } catch {
        lines.push({ msg: `(raw) ${p}` });
      }
    }
  });
  proc.stderr?.on('data', (c: Buffer) => {
    errText += c.toString();
  });
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  return { proc, lines, exited, stderr: () => errText };
}

const kill = (p: ChildProcess) => {
  if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
};

describeEngines('worker supervisor (WORKER_AUTOSCALE)', (engine) => {
  it('scales up to max under a burst of slow jobs, drains back to min, loses and repeats nothing', { timeout: 150_000 }, async () => {
    const t = await setup({ engine });
    await t.backend.release?.run(); // the store exists before any process starts, as after the release step
    const dataDir = mkdtempSync(join(tmpdir(), 'cvt-supervisor-'));
    const sup = startSupervisor({
      ...t.env,
      NODE_ENV: 'test',
      LOG_LEVEL: 'info',
      DATA_DIR: dataDir,
      REDIS_AUTOSTART: 'false',
      API_KEYS: JSON.stringify(t.config.API_KEYS),
      WORKER_QUEUES: 'default:2',
      WORKER_AUTOSCALE: '1:3',
      WORKER_AUTOSCALE_INTERVAL_MS: '200',
      WORKER_AUTOSCALE_UP_COOLDOWN_MS: '0',
      WORKER_AUTOSCALE_DOWN_COOLDOWN_MS: '1500',
      SCALING_TARGET_LATENCY_SECONDS: '1',
      SCALING_WINDOW_SECONDS: '10',
      WORKER_SHUTDOWN_GRACE_MS: '20000',
      OTEL_EXPORTER_OTLP_ENDPOINT: '',
      WORKER_METRICS_PORT: '',
    });
    onTestFinished(() => {
      kill(sup.proc);
      for (const l of sup.lines) {
        if (l.msg !== 'worker child started' || !l.pid) continue;
        try {
          process.kill(l.pid, 'SIGKILL'); // only if the test failed half-way; normally every child has exited
        } catch {}
      }
      rmSync(dataDir, { recursive: true, force: true });
    });
    const what = (m: string) => `${m}; stderr: ${sup.stderr().slice(-2000)}; last logs: ${JSON.stringify(sup.lines.slice(-5))}`;
    const childPids = () => new Set(sup.lines.filter((l) => l.msg === 'worker child started').map((l) => l.pid));

    // one child at min, consuming
    await waitFor(() => sup.lines.some((l) => l.msg === 'consuming' && l.role !== 'supervisor'), {
      timeoutMs: 40_000,
      what: what('first child consuming'),
    });
    expect(childPids().size).toBe(1);

    const N = 24;
    const reqs = Array.from({ length: N }, (_, i) =>
      toEnqueueRequest(
        { name: 'diagnostics.sleep', data: { ms: 2000, fail: 'never', failAttempts: 0, tag: `job-${i}` }, options: {} },
        t.config,
      ),
    );
    const results = await t.engine.enqueueMany(reqs);
    const ids = results.map((r) => r.job.id);

    await waitFor(() => sup.lines.some((l) => l.msg === 'scaling worker children' && l.to === 3), {
      timeoutMs: 30_000,
      what: what('scale to 3'),
    });
    await waitFor(() => childPids().size === 3, { timeoutMs: 10_000, what: what('3 children started') });

    await waitFor(
      async () => {
        const [q] = await t.engine.queueInfo(['default']);
        return q && q.counts.completed === N && q.counts.waiting === 0 && q.counts.active === 0;
      },
      { timeoutMs: 60_000, intervalMs: 200, what: what('all jobs completed') },
    );

    // back to min: two children drained with SIGTERM, exiting cleanly
    await waitFor(() => sup.lines.some((l) => l.msg === 'scaling worker children' && l.to === 1), {
      timeoutMs: 30_000,
      what: what('scale to 1'),
    });
    await waitFor(() => sup.lines.filter((l) => l.msg === 'worker child exited').length === 2, {
      timeoutMs: 30_000,
      what: what('2 children exited'),
    });
    const exits = sup.lines.filter((l) => l.msg === 'worker child exited');
    expect(exits.every((l) => l.code === 0 && l.drained === true)).toBe(true);

    // every job: completed once, first attempt, by one of our children
    const pids = new Set<number>();
    for (const id of ids) {
      const job = await t.engine.getJob(id);
      expect(job?.state, id).toBe('completed');
      expect(job?.attempts.made, id).toBe(1);
      const result = job?.result as { attempt: number; pid: number };
      expect(result.attempt).toBe(1);
      expect(childPids().has(result.pid)).toBe(true);
      pids.add(result.pid);
    }
    expect(pids.size).toBeGreaterThan(1); // the extra children did take work
    const completedLogs = sup.lines.filter((l) => l.msg === 'job completed');
    expect(completedLogs.map((l) => l.jobId).sort()).toEqual([...ids].sort());
    const [q] = await t.engine.queueInfo(['default']);
    expect(q?.counts).toMatchObject({ failed: 0, dead: 0 });

    // the supervisor stops cleanly, draining its last child
    sup.proc.kill('SIGTERM');
    expect(await sup.exited).toBe(0);
    expect(sup.lines.filter((l) => l.msg === 'worker child exited').length).toBe(3);
  });

  it('follows its own process type: a reports backlog of another type leaves it at min, its own backlog scales it', {
    timeout: 150_000,
  }, async () => {
    const types = JSON.stringify([
      { name: 'worker_diag', queues: 'default:2' },
      { name: 'worker_reports', queues: 'reports' },
      { name: 'worker_email', queues: 'email,*' },
    ]);
    const t = await setup({ engine, WORKER_PROCESS_TYPES: types, SCALING_TARGET_LATENCY_SECONDS: '1', SCALING_WINDOW_SECONDS: '10' });
    await t.backend.release?.run();
    // 40 reports wait; no process of worker_reports runs, so they stay
    const v = validateJob({ name: 'report.generate', data: { report: 'demo.series', params: { rows: 10 } } });
    if (!v.ok) throw new Error(JSON.stringify(v.details));
    await t.engine.enqueueMany(Array.from({ length: 40 }, () => toEnqueueRequest(v.job, t.config)));

    const dataDir = mkdtempSync(join(tmpdir(), 'cvt-supervisor-'));
    const sup = startSupervisor({
      ...t.env,
      NODE_ENV: 'test',
      LOG_LEVEL: 'info',
      DATA_DIR: dataDir,
      REDIS_AUTOSTART: 'false',
      API_KEYS: JSON.stringify(t.config.API_KEYS),
      WORKER_PROCESS_TYPES: types,
      WORKER_PROCESS_TYPE: 'worker_diag',
      WORKER_AUTOSCALE: '1:3',
      WORKER_AUTOSCALE_INTERVAL_MS: '200',
      WORKER_AUTOSCALE_UP_COOLDOWN_MS: '0',
      WORKER_AUTOSCALE_DOWN_COOLDOWN_MS: '600000', // stays up once scaled: this test is about what scales it
      SCALING_TARGET_LATENCY_SECONDS: '1',
      SCALING_WINDOW_SECONDS: '10',
      WORKER_SHUTDOWN_GRACE_MS: '20000',
      OTEL_EXPORTER_OTLP_ENDPOINT: '',
      WORKER_METRICS_PORT: '',
    });
    onTestFinished(() => {
      kill(sup.proc);
      for (const l of sup.lines) {
        if (l.msg !== 'worker child started' || !l.pid) continue;
        try {
          process.kill(l.pid, 'SIGKILL'); // only if the test failed half-way
        } catch {}
      }
      rmSync(dataDir, { recursive: true, force: true });
    });
    const what = (m: string) => `${m}; stderr: ${sup.stderr().slice(-2000)}; last logs: ${JSON.stringify(sup.lines.slice(-5))}`;
    const scalings = () => sup.lines.filter((l) => l.msg === 'scaling worker children');

    const started = await waitFor(() => sup.lines.find((l) => l.msg === 'worker supervisor started'), {
      timeoutMs: 40_000,
      what: what('supervisor started'),
    });
    expect(started).toMatchObject({ processType: 'worker_diag', queues: ['default'], min: 1, max: 3 });
    await waitFor(() => sup.lines.some((l) => l.msg === 'consuming' && l.role !== 'supervisor' && l.queue === 'default'), {
      timeoutMs: 40_000,
      what: what('first child consuming default'),
    });
    // the reports backlog is behind: GET /v1/scaling asks for more worker_reports, and none for worker_diag
    await waitFor(async () => ((await t.engine.queueInfo(['reports']))[0]?.oldestWaitingAgeSeconds ?? 0) > 1.5, {
      what: 'reports backlog older than the target',
    });
    const signal = (await t.api('GET', '/v1/scaling')).body.processTypes;
    expect(signal.worker_reports.recommendedReplicas).toBeGreaterThan(3);
    expect(signal.worker_diag).toMatchObject({ queues: ['default'], depth: 0, recommendedReplicas: 1 });

    // now a backlog on its own queue: 2 slots per child, 24 jobs of 1.5 s
    const before = sup.lines.length;
    const N = 24;
    const reqs = Array.from({ length: N }, (_, i) =>
      toEnqueueRequest(
        { name: 'diagnostics.sleep', data: { ms: 1500, fail: 'never', failAttempts: 0, tag: `own-${i}` }, options: {} },
        t.config,
      ),
    );
    const ids = (await t.engine.enqueueMany(reqs)).map((r) => r.job.id);
    const up = await waitFor(() => scalings().find((l) => l.to === 3), { timeoutMs: 40_000, what: what('scale to 3') });
    // it never scaled for the reports backlog: every scaling line came after its own backlog arrived …
    const first = sup.lines.indexOf(scalings()[0] as LogLine);
    expect(first).toBeGreaterThanOrEqual(before);
    expect(scalings()[0]).toMatchObject({ from: 1 });
    // … and the signal it scaled on counted its own queue only (the 40 reports were still waiting)
    expect(up.depth as number).toBeLessThanOrEqual(N);
    expect((await t.engine.queueInfo(['reports']))[0]?.counts.waiting).toBe(40);

    await waitFor(
      async () => {
        const [q] = await t.engine.queueInfo(['default']);
        return q && q.counts.completed === N && q.counts.waiting === 0 && q.counts.active === 0;
      },
      { timeoutMs: 60_000, intervalMs: 200, what: what('own jobs completed') },
    );
    for (const id of ids) expect((await t.engine.getJob(id))?.attempts.made, id).toBe(1);
    sup.proc.kill('SIGTERM');
    expect(await sup.exited).toBe(0);
  });
});
