// One Conveyor deployment under test: the web and two workers as real child processes started from the
// Procfile's lines, on one engine, against the run's private stores and its SMTP and Elasticsearch
// stand-ins. It restarts what a scenario kills, and reads the store directly (not through the API under
// test) to count what was really stored: the inventory.
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import pg from 'pg';
import { pgbossSchemaFor } from '../../core/engines/factory.ts';
import type { EsStandin } from '../es-standin/server.ts';
import { type Exit, type Harness, type Proc, procfileCommand, waitFor } from './harness.ts';
import type { ChaosSmtp, PrivatePostgres, PrivateRedis } from './services.ts';
import { Api } from './traffic.ts';

export type EngineName = 'bullmq' | 'pgboss';
export const QUEUES = ['default', 'email', 'search'] as const;
/** a process start on a loaded 2-core machine can take 20 s and more: a deadline, never an expectation */
export const START_MS = 120_000;
/** what the chaos processes are told; scenarios depend on it (a long job outlives the grace) */
export const SHUTDOWN_GRACE_MS = 1_500;

export interface Services {
  redis?: PrivateRedis;
  postgres?: PrivatePostgres;
  smtp: ChaosSmtp;
  es: EsStandin;
}

export interface StoredJob {
  key: string;
  state: 'pending' | 'completed' | 'dead' | 'cancelled';
  /** why it is dead, as the store says (so a failing run names the cause) */
  reason?: string;
}
export interface InventoryResult {
  /** entries of the queue itself (a key stored twice is a duplicate) */
  jobs: StoredJob[];
  /** keys with an entry in the queue's dead-letter queue */
  deadLetters: Set<string>;
  /** key → why it died, for dead jobs and letters */
  deadReasons: Map<string, string>;
}

/** the logical key a chaos job carries in its payload (diagnostics tag or note, email recipient, document id) */
const keyOf = (d: Record<string, unknown> | null | undefined): string => String(d?.tag ?? d?.note ?? d?.to ?? d?.id ?? '');

export class Platform {
  web!: Proc;
  readonly workers: Proc[] = [];
  readonly api: Api;
  readonly env: NodeJS.ProcessEnv;
  readonly prefix: string;
  private readonly queues = new Map<string, Queue>();
  /** run processes/<type>.ts under tsx instead of the Procfile's dist/ build (npm test: no build step) */
  private fromSource = false;
  private pool: pg.Pool | undefined;

  private constructor(
    private readonly h: Harness,
    readonly engine: EngineName,
    readonly services: Services,
    readonly port: number,
    dataDir: string,
  ) {
    this.prefix = `chaos-${engine}-${randomBytes(3).toString('hex')}`;
    const key = `cvk_${randomBytes(24).toString('base64url')}`;
    const sha256 = createHash('sha256').update(key).digest('hex');
    this.api = new Api(`http://127.0.0.1:${port}`, key);
    const store =
      engine === 'bullmq'
        ? { QUEUE_ENGINE: 'bullmq', REDIS_URL: services.redis!.url, WORKER_LOCK_DURATION_MS: '2000' }
        : {
            QUEUE_ENGINE: 'pgboss',
            DATABASE_URL: services.postgres!.url,
            WORKER_LOCK_DURATION_MS: '10000',
            PGBOSS_POLL_INTERVAL_MS: '500',
          };
    this.env = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      NODE_ENV: 'production',
      LOG_LEVEL: 'info',
      HOST: '127.0.0.1',
      PORT: String(port),
      DATA_DIR: dataDir,
      QUEUE_PREFIX: this.prefix,
      API_KEYS: JSON.stringify([{ name: 'chaos', sha256, scopes: ['admin'], rateLimitRps: 1_000_000 }]),
      ...store,
      WORKER_QUEUES: QUEUES.join(','),
      WORKER_STALLED_INTERVAL_MS: '1000',
      WORKER_SHUTDOWN_GRACE_MS: String(SHUTDOWN_GRACE_MS),
      RETENTION_COMPLETED_COUNT: '1000000',
      RETENTION_FAILED_COUNT: '1000000',
      SMTP_URL: services.smtp.url,
      EMAIL_RATE_PER_SECOND: '500',
      EMAIL_CATCHER_PORT: '0',
      ELASTICSEARCH_URL: services.es.url,
      SEARCH_INDEX_PREFIX: this.prefix,
    };
  }

  /** `env` adds to or overrides the processes' environment (the soak's short retention) */
  static async start(
    h: Harness,
    engine: EngineName,
    services: Services,
    port: number,
    env: Record<string, string> = {},
    opts: { fromSource?: boolean } = {},
  ): Promise<Platform> {
    const p = new Platform(h, engine, services, port, join(h.tempDir(`data-${engine}`), 'data'));
    Object.assign(p.env, env);
    p.fromSource = opts.fromSource ?? false;
    h.onClose(() => p.closeClients());
    // as a deploy does: the release step (schema, search templates) first, then the processes
    const release = p.spawn('release');
    const done = await Promise.race([release.exited, new Promise<null>((r) => setTimeout(() => r(null), START_MS))]);
    if (done?.code !== 0)
      throw new Error(`release step ${done ? `exited ${done.code ?? done.signal}` : 'timed out'}: ${release.stderrTail.slice(-800)}`);
    p.web = p.spawn('web');
    p.workers.push(p.spawn('worker', 'worker-1'), p.spawn('worker', 'worker-2'));
    await Promise.all([p.webReady(p.web), ...p.workers.map((w) => p.workerReady(w))]);
    // warm the web (first requests compile and connect), so the first scenario's baseline is not a cold start
    for (let i = 0; i < 20; i++) await p.api.enqueue({ name: 'diagnostics.noop', data: { note: `warm-${i}` } }, 'warm-up');
    await p.api.readyz();
    p.api.answers.length = 0;
    return p;
  }

  private spawn(type: 'web' | 'worker' | 'release', name: string = type): Proc {
    const { command, args } = procfileCommand(type, this.fromSource);
    return this.h.spawn(`${this.engine}/${name}`, command, args, { env: this.env });
  }

  webReady(web: Proc) {
    return web.waitForLog((l) => String(l.msg ?? '').startsWith('web listening'), 'web listening', START_MS);
  }

  async workerReady(w: Proc) {
    for (const q of QUEUES) await w.waitForLog((l) => l.msg === 'consuming' && l.queue === q, `consuming ${q}`, START_MS);
  }

  /** SIGKILL the web, start a new one on the same port, wait until it listens */
  async restartWeb(sig: NodeJS.Signals = 'SIGKILL'): Promise<Exit> {
    const exit = await this.web.kill(sig);
    this.web = this.spawn('web');
    await this.webReady(this.web);
    return exit;
  }

  /** replace worker `i` (already stopped or killed) with a new one; resolves when it consumes */
  async respawnWorker(i: number): Promise<Proc> {
    const w = this.spawn('worker', `worker-${i + 1}`);
    this.workers[i] = w;
    await this.workerReady(w);
    return w;
  }

  /** stored jobs of `queue` whose key starts with `keyPrefix`, read from the store itself */
  async inventory(queue: string, keyPrefix: string): Promise<InventoryResult> {
    const rows = this.engine === 'bullmq' ? await this.bullmqRows(queue) : await this.pgbossRows(queue);
    const mine = rows.filter((r) => r.key.startsWith(keyPrefix));
    return {
      jobs: mine.filter((r) => !r.letter).map(({ key, state }) => ({ key, state })),
      deadLetters: new Set(mine.filter((r) => r.letter).map((r) => r.key)),
      deadReasons: new Map(mine.filter((r) => r.reason !== undefined).map((r) => [r.key, r.reason as string])),
    };
  }

  private queue(name: string): Queue {
    let q = this.queues.get(name);
    if (!q) {
      const { port } = new URL(this.services.redis!.url);
      q = new Queue(name, { connection: { host: '127.0.0.1', port: Number(port) }, prefix: this.prefix });
      q.on('error', () => {}); // Redis down during a scenario: the inventory is read once it is back
      this.queues.set(name, q);
    }
    return q;
  }

  private async bullmqRows(queue: string) {
    const out: (StoredJob & { letter: boolean })[] = [];
    const lists = ['active', 'completed', 'delayed', 'failed', 'prioritized', 'wait', 'waiting-children'] as const;
    for (const list of lists) {
      const state = list === 'completed' ? 'completed' : list === 'failed' ? 'dead' : 'pending';
      for (const j of await this.queue(queue).getJobs([list], 0, -1)) {
        if (j) out.push({ key: keyOf(j.data), state, letter: false, ...(state === 'dead' ? { reason: j.failedReason } : {}) });
      }
    }
    for (const j of await this.queue(`${queue}-dlq`).getJobs(['wait', 'prioritized', 'delayed'], 0, -1)) {
      if (j) out.push({ key: keyOf(j.data?.data), state: 'dead', letter: true, reason: String(j.data?.reason ?? '?') });
    }
    return out;
  }

  private async pgbossRows(queue: string) {
    if (!this.pool) {
      this.pool = new pg.Pool({ connectionString: this.services.postgres!.url, max: 2 });
      this.pool.on('error', () => {}); // an idle client dies with a PostgreSQL restart: the pool replaces it
    }
    const { rows } = await this.pool.query<{
      name: string;
      state: string;
      data: Record<string, unknown> | null;
      output: Record<string, unknown> | null;
    }>(`SELECT name, state, data, output FROM ${pgbossSchemaFor(this.prefix)}.job WHERE name = ANY($1)`, [[queue, `${queue}-dlq`]]);
    return rows.map((r) => {
      const letter = r.name !== queue;
      // a letter we wrote holds the payload under `data`; one pg-boss moved itself is the job's own data
      const payload = letter && r.data && '$deadLetter' in r.data ? (r.data.data as Record<string, unknown>) : r.data;
      const state: StoredJob['state'] =
        letter || r.state === 'failed' ? 'dead' : r.state === 'completed' ? 'completed' : r.state === 'cancelled' ? 'cancelled' : 'pending';
      const ours = letter && r.data && '$deadLetter' in r.data;
      const out = r.output as { message?: string; error?: { message?: string } } | null;
      const reason =
        state !== 'dead'
          ? undefined
          : ours
            ? String(r.data?.reason)
            : letter
              ? `moved by pg-boss itself (${out?.error?.message ?? out?.message ?? 'heartbeat or expiry'})`
              : `failed: ${out?.error?.message ?? out?.message ?? '?'}`;
      return { key: keyOf(payload), state, letter, ...(reason === undefined ? {} : { reason }) };
    });
  }

  /** SIGKILL the web and the workers (the end of this engine's run) */
  async stop() {
    await Promise.all([this.web, ...this.workers].map((p) => p.kill('SIGKILL')));
    await this.closeClients();
  }

  private async closeClients() {
    await Promise.all([...this.queues.values()].map((q) => q.close().catch(() => {})));
    this.queues.clear();
    await this.pool?.end().catch(() => {});
    this.pool = undefined;
  }

  /** wait until nothing with this key prefix is pending and every key in `expected` is stored */
  async settle(queue: string, keyPrefix: string, expected: Set<string>, timeoutMs: number): Promise<{ settled: boolean; at: number }> {
    try {
      await waitFor(
        async () => {
          const inv = await this.inventory(queue, keyPrefix);
          const stored = new Set(inv.jobs.map((j) => j.key));
          return inv.jobs.every((j) => j.state !== 'pending') && [...expected].every((k) => stored.has(k));
        },
        { what: `${queue} ${keyPrefix}* settled`, timeoutMs, intervalMs: 500 },
      );
      return { settled: true, at: Date.now() };
    } catch {
      return { settled: false, at: Date.now() };
    }
  }
}
