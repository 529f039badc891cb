// Conveyor's own processes on the hosts, started with the Procfile's command for their process type (so the run
// follows whatever the Procfile says), under `ip netns exec <host ns>`, with a fresh environment: only the
// variables below, never the caller's REDIS_URL or DATABASE_URL.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type HostProcess, readLog, spawnIn, waitFor, within } from './procs.ts';
import { type EngineName, type Host, PORTS, urls } from './topology.ts';

export type ProcessType = 'web' | 'worker' | 'scheduler' | 'release';

/** `type: command` lines; `node` becomes this Node (the project's Node 24), the rest stays as written. */
export function procfileCommand(root: string, type: ProcessType): string[] {
  const line = readFileSync(join(root, 'Procfile'), 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${type}:`));
  if (!line) throw new Error(`Procfile has no ${type}: line`);
  const argv = line
    .slice(type.length + 1)
    .trim()
    .split(/\s+/);
  if (argv[0] === 'node') argv[0] = process.execPath;
  const entry = argv.find((a) => /\.(ts|js|mjs)$/.test(a));
  if (entry && !existsSync(join(root, entry))) throw new Error(`Procfile ${type}: ${entry} does not exist (npm run build first?)`);
  return argv;
}

export interface EngineEnv {
  engine: EngineName;
  prefix: string;
  apiKeySha256: string;
}

/** The environment every Conveyor process of one engine's run gets (a production-like config). */
export function conveyorEnv(e: EngineEnv, dataDir: string): NodeJS.ProcessEnv {
  const store = e.engine === 'bullmq' ? { REDIS_URL: urls.redis() } : { DATABASE_URL: urls.postgres() };
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME ?? '/root',
    LANG: 'C.UTF-8',
    NODE_ENV: 'production',
    LOG_LEVEL: 'info',
    QUEUE_ENGINE: e.engine,
    ...store,
    QUEUE_PREFIX: e.prefix,
    DATA_DIR: dataDir,
    HOST: '0.0.0.0',
    PORT: String(PORTS.web),
    API_KEYS: JSON.stringify([{ name: 'multihost', sha256: e.apiKeySha256, scopes: ['admin'], rateLimitRps: 1_000_000 }]),
    API_RATE_LIMIT_RPS: '1000000',
    SMTP_URL: urls.smtp(),
    // one sender for every host: the Message-ID (fixed per job, so receivers can drop a resend) derives from it
    EMAIL_FROM: 'Conveyor multihost <jobs@multihost.test>',
    EMAIL_RATE_PER_SECOND: '200',
    WORKER_QUEUES: 'default:64,email:10',
    // a dead worker's jobs come back within ~12 s (BullMQ lock / pg-boss heartbeat 10 s, checks every 2 s)
    WORKER_LOCK_DURATION_MS: '10000',
    WORKER_STALLED_INTERVAL_MS: '2000',
    WORKER_SHUTDOWN_GRACE_MS: '5000',
    PGBOSS_POLL_INTERVAL_MS: '1000',
    // every acknowledged job must still be readable when the run checks it
    RETENTION_COMPLETED_COUNT: '10000000',
    RETENTION_FAILED_COUNT: '10000000',
  };
}

export class Hosts {
  readonly procs: (HostProcess & { host: Host; type: ProcessType })[] = [];

  constructor(
    private readonly root: string,
    private readonly logs: string,
    private readonly dataRoot: string,
    private readonly env: EngineEnv,
  ) {}

  start(host: Host, type: ProcessType): HostProcess & { host: Host; type: ProcessType } {
    const dataDir = join(this.dataRoot, this.env.engine, host.name);
    mkdirSync(dataDir, { recursive: true });
    const p = spawnIn(host.ns, procfileCommand(this.root, type), {
      label: `${host.name}/${type}`,
      log: join(this.logs, `${this.env.engine}-${host.name}-${type}.log`),
      env: conveyorEnv(this.env, dataDir),
      cwd: this.root,
    });
    const entry = Object.assign(p, { host, type });
    this.procs.push(entry);
    return entry;
  }

  /** A worker is ready once it logged `consuming` for the queues the traffic uses. */
  async workerReady(p: HostProcess, timeoutMs: number): Promise<number> {
    await waitFor(
      `${p.label} to consume default and email`,
      () => {
        if (!p.running()) throw new Error(`${p.label} exited`);
        const queues = new Set(readLog(p.log).flatMap((l) => (l.msg === 'consuming' ? [String(l.queue)] : [])));
        return queues.has('default') && queues.has('email');
      },
      timeoutMs,
      200,
    );
    return Date.now() - p.startedAt;
  }

  async webReady(p: HostProcess, timeoutMs: number): Promise<number> {
    await waitFor(
      `${p.label} /readyz`,
      async () => {
        if (!p.running()) throw new Error(`${p.label} exited`);
        return (await fetch(`${urls.web()}/readyz`, { signal: AbortSignal.timeout(2_000) })).status === 200;
      },
      timeoutMs,
      200,
    );
    return Date.now() - p.startedAt;
  }

  async schedulerReady(p: HostProcess, timeoutMs: number): Promise<number> {
    await waitFor(
      `${p.label} to start`,
      () => {
        if (!p.running()) throw new Error(`${p.label} exited`);
        return readLog(p.log).some((l) => l.msg === 'scheduler started');
      },
      timeoutMs,
      200,
    );
    return Date.now() - p.startedAt;
  }

  /** SIGTERM the rest, wait up to `graceMs`, SIGKILL what is left. Returns how long the clean stop took. */
  async stopAll(graceMs: number): Promise<{ ms: number; killed: string[]; codes: Record<string, number | null> }> {
    const started = Date.now();
    const alive = this.procs.filter((p) => p.running());
    for (const p of alive) p.child.kill('SIGTERM');
    await within(Promise.all(alive.map((p) => p.exited)), graceMs, 'processes to stop').catch(() => {});
    const killed = alive.filter((p) => p.running()).map((p) => p.label);
    for (const p of alive) if (p.running()) p.child.kill('SIGKILL');
    const codes: Record<string, number | null> = {};
    for (const p of alive) codes[p.label] = (await p.exited).code;
    return { ms: Date.now() - started, killed, codes };
  }
}
