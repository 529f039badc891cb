// Test helper: real scheduler processes (`tsx processes/scheduler.ts`) on a given queue prefix, with their
// JSON log lines collected so a test can wait for "schedule armed" / "schedule stopped" per replica.
import { type ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { REDIS_URL, waitFor } from './helpers.ts';

const ROOT = resolve(import.meta.dirname, '..');

export interface SchedulerProcess {
  child: ChildProcess;
  lines: Record<string, unknown>[];
  /** log lines with this msg (and schedule, if given) */
  logged(msg: string, schedule?: string): number;
  stop(): Promise<void>;
}

export function spawnScheduler(prefix: string, env: Record<string, string> = {}): SchedulerProcess {
  const child = spawn(resolve(ROOT, 'node_modules/.bin/tsx'), ['processes/scheduler.ts'], {
    cwd: ROOT,
    env: {
      ...process.env,
      REDIS_URL,
      QUEUE_PREFIX: prefix,
      NODE_ENV: 'test',
      LOG_LEVEL: 'info',
      SCHEDULER_RELOAD_MS: '200',
      SCHEDULES_DISABLED: 'dead-letter-digest,retention-cleanup',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Record<string, unknown>[] = [];
  let buf = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    buf += chunk.toString();
    let i = buf.indexOf('\n');
    while (i >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      try {
        lines.push(JSON.parse(line) as Record<string, unknown>);
      } catch {}
      i = buf.indexOf('\n');
    }
  });
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return {
    child,
    lines,
    logged: (msg, schedule) => lines.filter((l) => l.msg === msg && (schedule === undefined || l.schedule === schedule)).length,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
      if (child.exitCode !== 0 && child.signalCode === null && stderr) console.error(`scheduler ${child.pid} stderr:\n${stderr}`);
    },
  };
}

export async function waitStarted(procs: SchedulerProcess[], timeoutMs = 40_000) {
  await waitFor(
    () => {
      for (const p of procs) {
        if (p.child.exitCode !== null) throw new Error(`scheduler ${p.child.pid} exited with ${p.child.exitCode}`);
      }
      return procs.every((p) => p.logged('scheduler started') > 0);
    },
    { timeoutMs, intervalMs: 100, what: 'scheduler processes started' },
  );
}
