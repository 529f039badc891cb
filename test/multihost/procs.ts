// Processes on a host: `ip netns exec <ns> <argv>`, stdout and stderr appended straight to a log file (a file,
// not a pipe, so a SIGKILL loses no line already written), and a reader for the JSON lines that file gathers.
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';

export interface HostProcess {
  label: string;
  child: ChildProcess;
  pid: number;
  log: string;
  startedAt: number;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  running(): boolean;
}

export function spawnIn(
  ns: string,
  argv: string[],
  opts: { label: string; log: string; env: NodeJS.ProcessEnv; cwd: string },
): HostProcess {
  const fd = openSync(opts.log, 'a');
  const child = spawn('ip', ['netns', 'exec', ns, ...argv], { cwd: opts.cwd, env: opts.env, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  let done = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      done = true;
      resolve({ code, signal });
    });
    child.once('error', () => {
      done = true;
      resolve({ code: -1, signal: null });
    });
  });
  return { label: opts.label, child, pid: child.pid ?? -1, log: opts.log, startedAt: Date.now(), exited, running: () => !done };
}

export type LogLine = Record<string, unknown> & { msg?: string };

/** Every JSON line of a log file so far (other lines come back as `{ msg: line, raw: true }`). */
export function readLog(file: string): LogLine[] {
  if (!existsSync(file)) return [];
  const out: LogLine[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line) continue;
    try {
      out.push(JSON.parse(line) as LogLine);
    } catch {
      out.push({ msg: line, raw: true });
    }
  }
  return out;
}

export function tail(file: string, lines = 15): string {
  if (!existsSync(file)) return '(no log)';
  return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** `p`, or a rejection naming `what` after `ms` (the timer does not outlive `p`) */
export async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Poll until `fn` returns something truthy, or throw after `timeoutMs` naming `what`. */
export async function waitFor<T>(what: string, fn: () => Promise<T> | T, timeoutMs: number, intervalMs = 100): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
    } catch (err) {
      lastErr = err;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastErr ? ` (${String(lastErr)})` : ''}`);
    await sleep(intervalMs);
  }
}
