// Spawn real Conveyor processes (processes/<type>.ts, one entry per Procfile line, `all` for npm start) for multi-process tests, with their JSON log
// lines collected so a test can wait for "consuming" or count "job completed".
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { onTestFinished } from 'vitest';
import { waitFor } from './helpers.ts';

const root = fileURLToPath(new URL('..', import.meta.url));

export interface Spawned {
  child: ChildProcess;
  pid: number;
  logs: Record<string, unknown>[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  waitForLog(match: (line: Record<string, unknown>) => boolean, what: string, timeoutMs?: number): Promise<Record<string, unknown>>;
}

export function spawnConveyor(type: string, env: Record<string, string>, args: string[] = []): Spawned {
  return spawnScript(`processes/${type}.ts`, env, args);
}

/** Any TypeScript entry under the repository root, e.g. a test fixture built on processes/run.ts. */
export function spawnScript(script: string, env: Record<string, string>, args: string[] = []): Spawned {
  return spawnNode(['--import', 'tsx', script, ...args], env);
}

/** A compiled entry from `npm run build` (dist/processes/<type>.js) on plain Node: TypeScript type stripping
 * is switched off, so a stray `.ts` import fails instead of quietly running the source. */
export function spawnBuilt(entry: string, env: Record<string, string>): Spawned {
  return spawnNode(['--no-experimental-strip-types', entry], env);
}

function spawnNode(argv: string[], env: Record<string, string>): Spawned {
  const child = spawn(process.execPath, argv, {
    cwd: root,
    env: { ...process.env, LOG_LEVEL: 'info', NODE_ENV: 'test', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Record<string, unknown>[] = [];
  let stderr = '';
  createInterface({ input: child.stdout! }).on('line', (line) => {
    try {
      logs.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      logs.push({ msg: line });
    }
  });
  child.stderr!.on('data', (d) => {
    stderr += String(d);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  onTestFinished(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  });
  return {
    child,
    pid: child.pid!,
    logs,
    exited,
    waitForLog: (match, what, timeoutMs = 20_000) =>
      waitFor(() => logs.find(match), { what: `${what} (stderr so far: ${stderr.slice(-500)})`, timeoutMs }),
  };
}
