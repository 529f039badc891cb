// The process harness of `npm run chaos` and `npm run soak` (no vitest): temp dirs, free loopback ports,
// child processes in their own process group (so a kill reaches everything they started) with their JSON
// log lines kept, readiness waits with a deadline, and a teardown that kills every group and removes
// every temp dir, also when the run fails or is interrupted.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { waitFor } from '../helpers.ts';

export { waitFor };
export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

export type LogLine = Record<string, unknown>;
export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

const KEEP_LINES = 2_000;

/** One child process, leader of its own process group. */
export class Proc {
  readonly child: ChildProcess;
  readonly pid: number;
  /** the last KEEP_LINES stdout lines, JSON-parsed when they are JSON */
  readonly logs: LogLine[] = [];
  stderrTail = '';
  readonly exited: Promise<Exit>;
  exit: Exit | undefined;
  private readonly listeners = new Set<(l: LogLine) => void>();

  constructor(
    readonly name: string,
    command: string,
    args: string[],
    opts: { env: NodeJS.ProcessEnv; cwd?: string },
  ) {
    this.child = spawn(command, args, { cwd: opts.cwd ?? repoRoot, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    if (this.child.pid === undefined) throw new Error(`${name}: could not start ${command}`);
    this.pid = this.child.pid;
    createInterface({ input: this.child.stdout! }).on('line', (text) => {
      let line: LogLine;
      try {
        line = JSON.parse(text) as LogLine;
      } catch {
        line = { msg: text };
      }
      this.logs.push(line);
      if (this.logs.length > KEEP_LINES) this.logs.splice(0, this.logs.length - KEEP_LINES);
      for (const l of this.listeners) l(line);
    });
    this.child.stderr!.on('data', (d) => {
      this.stderrTail = (this.stderrTail + String(d)).slice(-4_000);
    });
    this.exited = new Promise((resolve) =>
      this.child.once('exit', (code, signal) => {
        this.exit = { code, signal };
        resolve(this.exit);
      }),
    );
  }

  get alive() {
    return this.exit === undefined;
  }

  /** a signal to the whole process group */
  signal(sig: NodeJS.Signals) {
    if (!this.alive) return;
    try {
      process.kill(-this.pid, sig);
    } catch {}
  }

  async kill(sig: NodeJS.Signals = 'SIGKILL'): Promise<Exit> {
    this.signal(sig);
    return this.exited;
  }

  /** the first log line (kept or to come) that matches, or throw at the deadline */
  waitForLog(match: (l: LogLine) => boolean, what: string, timeoutMs: number): Promise<LogLine> {
    const seen = this.logs.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const done = (err: Error | null, line?: LogLine) => {
        clearTimeout(timer);
        this.listeners.delete(onLine);
        if (err) reject(err);
        else resolve(line as LogLine);
      };
      const onLine = (l: LogLine) => {
        if (match(l)) done(null, l);
      };
      const timer = setTimeout(
        () => done(new Error(`${this.name}: no "${what}" within ${timeoutMs} ms; stderr: ${this.stderrTail.slice(-800)}`)),
        timeoutMs,
      );
      this.listeners.add(onLine);
      this.exited.then((e) =>
        done(
          new Error(
            `${this.name} exited (${e.code ?? e.signal}) before "${what}"; last log lines: ${this.logs
              .slice(-3)
              .map((l) => JSON.stringify(l).slice(0, 400))
              .join(' | ')}; stderr: ${this.stderrTail.slice(-800)}`,
          ),
        ),
      );
    });
  }
}

/** The command a Procfile line runs (`web: node --import tsx …`), `node` being this Node. */
/**
 * The Procfile's command for `type`; `fromSource` runs the TypeScript entry under tsx instead of the
 * compiled one (`node dist/processes/web.js` → `node --import tsx processes/web.ts`): no build needed.
 */
export function procfileCommand(type: string, fromSource = false): { command: string; args: string[] } {
  const line = readFileSync(join(repoRoot, 'Procfile'), 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${type}:`));
  if (!line) throw new Error(`Procfile has no "${type}" line`);
  const [command, ...args] = line
    .slice(type.length + 1)
    .trim()
    .split(/\s+/);
  const source = (a: string) => (/^dist\/processes\/[\w-]+\.js$/.test(a) ? ['--import', 'tsx', `${a.slice('dist/'.length, -3)}.ts`] : [a]);
  return { command: command === 'node' ? process.execPath : (command as string), args: fromSource ? args.flatMap(source) : args };
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** Owns what a run starts: `close()` (and process exit, and SIGINT/SIGTERM) kills and removes all of it. */
export class Harness {
  private readonly procs = new Set<Proc>();
  private readonly dirs: string[] = [];
  private readonly closers: (() => Promise<void>)[] = [];

  /** `signals: false` inside a test runner, which has its own teardown */
  constructor(opts: { signals?: boolean } = {}) {
    process.once('exit', () => this.closeNow());
    if (opts.signals === false) return;
    for (const sig of ['SIGINT', 'SIGTERM'] as const) {
      process.once(sig, () => {
        console.error(`\n${sig}: tearing down`);
        this.closeNow();
        process.exit(130);
      });
    }
  }

  tempDir(label: string): string {
    const dir = mkdtempSync(join(tmpdir(), `conveyor-${label}-`));
    this.dirs.push(dir);
    return dir;
  }

  spawn(name: string, command: string, args: string[], opts: { env: NodeJS.ProcessEnv; cwd?: string }): Proc {
    const p = new Proc(name, command, args, opts);
    this.procs.add(p);
    p.exited.then(() => this.procs.delete(p));
    return p;
  }

  /** run `fn` at close, before the process groups are killed (servers in this process, clients) */
  onClose(fn: () => Promise<void>) {
    this.closers.push(fn);
  }

  async close() {
    for (const fn of this.closers.splice(0).reverse()) await fn().catch((err) => console.error(`teardown: ${(err as Error).message}`));
    const live = [...this.procs];
    await Promise.all(live.map((p) => p.kill('SIGKILL')));
    this.closeNow();
  }

  /** synchronous last resort: SIGKILL every group still alive, remove the temp dirs */
  private closeNow() {
    for (const p of this.procs) p.signal('SIGKILL');
    for (const d of this.dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}
