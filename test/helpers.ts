// Test helpers: `setup({ engine })` hands a test its own engine of that kind (bullmq: a unique Redis key
// prefix; pgboss: a unique Postgres schema), an HTTP server on a free port, API keys, and registers every
// cleanup with vitest. `waitFor` polls with a deadline: never sleep. Suites that run on every engine loop
// over test/engines.ts (`describeEngines`).
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { pino } from 'pino';
import { onTestFinished, type TestContext } from 'vitest';
import type { Backend, BackendCapabilities } from '../core/backend.ts';
import type { Engine } from '../core/engine.ts';
import { deleteKeysWithPrefix } from '../core/engines/bullmq/redis.ts';
import { createBackend, pgbossSchemaFor } from '../core/engines/factory.ts';
import type { Settler } from '../core/executor.ts';
import { groupSettler } from '../core/groups/settle.ts';
import type { DeclaredHandlers } from '../core/handler.ts';
import { createDashboard } from '../dashboard/index.ts';
import { createApp } from '../producers/app.ts';
import { generateApiKey } from '../producers/auth.ts';
import { type HandlerMap, type QueueDefinition, queueNames, queues } from '../workers/catalog.ts';
import { type Config, loadConfig } from '../workers/config.ts';
import { startDeclaredKinds } from '../workers/declared-kinds.ts';
import { handlers as defaultHandlers } from '../workers/diagnostics/handlers.ts';
import { startWorkers, type WorkerRuntime } from '../workers/runtime.ts';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
/** the tests' PostgreSQL (test/global-setup.ts sets TEST_DATABASE_URL, starting an embedded one if none answers) */
export const DATABASE_URL = process.env.TEST_DATABASE_URL ?? process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const quietLogger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

export const uniquePrefix = (label = 't') => `cvt-${label}-${randomBytes(4).toString('hex')}`;

export type EngineName = Engine['kind'];

/**
 * The settings that select an engine and its store, for a Config or a child process's env (with a
 * QUEUE_PREFIX: on pgboss it names the schema, core/engines/factory.ts pgbossSchemaFor). pgboss runs as a
 * Postgres-only deployment does: REDIS_URL unset.
 */
export function engineEnv(engine: EngineName): Record<string, string> {
  return engine === 'pgboss' ? { QUEUE_ENGINE: 'pgboss', DATABASE_URL, REDIS_URL: '' } : { QUEUE_ENGINE: 'bullmq', REDIS_URL };
}

/** A Config for tests: env defaults, our Redis, a unique prefix, plus overrides (QUEUE_ENGINE unset: bullmq). */
export function testConfig(overrides: Record<string, string> = {}): Config {
  return loadConfig({
    REDIS_URL,
    QUEUE_PREFIX: uniquePrefix(),
    LOG_LEVEL: 'silent',
    NODE_ENV: 'test',
    WORKER_LOCK_DURATION_MS: '5000',
    WORKER_STALLED_INTERVAL_MS: '2000',
    ...overrides,
  });
}

/** Poll `fn` until it returns a truthy value (returned) or the deadline passes (throws, with the last value). */
export async function waitFor<T>(
  fn: () => Promise<T> | T,
  opts: { timeoutMs?: number; intervalMs?: number; what?: string } = {},
): Promise<Exclude<T, false | null | undefined | 0 | ''>> {
  const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
  let last: T | undefined;
  let lastErr: unknown;
  for (;;) {
    try {
      last = await fn();
      if (last) return last as Exclude<T, false | null | undefined | 0 | ''>;
    } catch (err) {
      lastErr = err;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `waitFor(${opts.what ?? 'condition'}) timed out after ${opts.timeoutMs ?? 10_000} ms; last value ${JSON.stringify(last)}${lastErr ? `, last error ${String(lastErr)}` : ''}`,
      );
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 25));
  }
}

/** Delete every key under a prefix (tests clean up after themselves). */
export const dropPrefix = (prefix: string) => deleteKeysWithPrefix(REDIS_URL, prefix);

export async function dropSchema(schema: string) {
  const c = new pg.Client({ connectionString: DATABASE_URL });
  await c.connect();
  try {
    await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } finally {
    await c.end();
  }
}

/** Everything an engine built from `config` left behind: its Redis keys, and on pgboss its schema. */
export async function dropEngineData(config: Config) {
  await dropPrefix(config.QUEUE_PREFIX);
  if (config.QUEUE_ENGINE === 'pgboss') await dropSchema(pgbossSchemaFor(config.QUEUE_PREFIX));
}

/** Skip the running test, saying why (printed and kept as the skip note). */
function skipWithNote(ctx: TestContext, note: string): never {
  console.warn(note);
  return ctx.skip(note);
}

/**
 * Skip the running test when the backend declares it lacks a capability (`backend.capabilities`, the
 * engine's also reported by GET /v1/queues).
 */
export function needsCapability(ctx: TestContext, backend: Backend, capability: keyof BackendCapabilities, what: string) {
  if (backend.capabilities[capability]) return;
  skipWithNote(ctx, `skipped on ${backend.engine.kind}: ${what} needs capabilities.${capability}, which this backend declares false`);
}

/** Skip the running test when the backend declares it has no store for a role (`backend.<role>` is null). */
export function needsRole(ctx: TestContext, backend: Backend, role: 'retention' | 'transactional' | 'release', what: string) {
  if (backend[role]) return;
  skipWithNote(ctx, `skipped on ${backend.engine.kind}: ${what} needs backend.${role}, which this backend declares null`);
}

/**
 * Skip the running test on one engine for a known gap or bug, named in `why` (printed and kept as the skip
 * note): the test still runs on the other engines, and the reason shows in every report.
 */
export function skipOn(ctx: TestContext, engine: EngineName, on: EngineName, why: string) {
  if (engine === on) skipWithNote(ctx, `skipped on ${on}: ${why}`);
}

export interface TestKeys {
  admin: string;
  /** may enqueue diagnostics.noop only */
  noopOnly: string;
  /** tiny rate limit (2 rps) */
  limited: string;
}

export interface TestPlatform {
  config: Config;
  engine: Engine;
  /** the engine's backend (its side stores); closed after the test */
  backend: Backend;
  /** what a child process (processes/main.ts) needs to share this test's engine, store and prefix */
  env: Record<string, string>;
  baseUrl: string;
  keys: TestKeys;
  /** fetch against the app with a key (admin by default); JSON body in, parsed JSON out */
  api(
    method: string,
    path: string,
    body?: unknown,
    opts?: { key?: string | null; headers?: Record<string, string> },
  ): Promise<{ status: number; headers: Headers; body: any }>;
  startWorker(opts?: {
    handlers?: HandlerMap;
    declared?: DeclaredHandlers;
    queues?: Record<string, number | undefined>;
    /** the executor's settlers (processes/services/settlers.ts); none by default */
    settlers?: Settler[];
  }): WorkerRuntime;
}

/** `{ engine, ...settings }`: the engine to build (isolated prefix/schema, dropped afterwards) and env overrides. */
export type SetupOptions = { engine: EngineName } & Record<string, string>;

export async function setup({ engine: engineName, ...overrides }: SetupOptions): Promise<TestPlatform> {
  const keyAdmin = generateApiKey();
  const keyNoop = generateApiKey();
  const keyLimited = generateApiKey();
  const config = testConfig({
    API_KEYS: JSON.stringify([
      { name: 'admin', sha256: keyAdmin.sha256, scopes: ['admin'] },
      { name: 'noop-only', sha256: keyNoop.sha256, scopes: ['diagnostics.noop'] },
      { name: 'limited', sha256: keyLimited.sha256, scopes: ['*'], rateLimitRps: 2 },
    ]),
    ...engineEnv(engineName),
    ...overrides,
  });
  const backend = createBackend(config, quietLogger, {
    queues: queueNames,
    // as processes/services/backend.ts: the catalog's group defaults per queue
    groupCatalog: (q) => (queues[q as keyof typeof queues] as QueueDefinition | undefined)?.groups,
  });
  const engine = backend.engine;
  // the store is installed before the web serves, as the release step does in a deployment: the first
  // request's store deadline (STORE_TIMEOUT_MS) is not spent on pg-boss's schema install
  await backend.release?.run();
  const declaredKinds = await startDeclaredKinds({ config, backend, logger: quietLogger });
  const dashboard = await createDashboard({ config, logger: quietLogger, backend });
  const app = await createApp({
    engine,
    backend,
    config,
    logger: quietLogger,
    apiKeys: config.API_KEYS ?? [],
    dashboard: dashboard.router,
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise<void>((r) => server.once('listening', () => r()));
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const runtimes: WorkerRuntime[] = [];

  onTestFinished(async () => {
    await Promise.all(runtimes.map((r) => r.close(1_000)));
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await dashboard.close();
    declaredKinds.close();
    await backend.close();
    await dropEngineData(config);
  });

  return {
    config,
    engine,
    backend,
    env: { ...engineEnv(engineName), QUEUE_PREFIX: config.QUEUE_PREFIX },
    baseUrl,
    keys: { admin: keyAdmin.key, noopOnly: keyNoop.key, limited: keyLimited.key },
    async api(method, path, body, opts = {}) {
      const key = opts.key === undefined ? keyAdmin.key : opts.key;
      const headers: Record<string, string> = { ...opts.headers };
      if (key) headers.authorization = `Bearer ${key}`;
      let payload: string | undefined;
      if (body !== undefined) {
        payload = typeof body === 'string' ? body : JSON.stringify(body);
        headers['content-type'] ??= 'application/json';
      }
      const res = await fetch(baseUrl + path, { method, headers, body: payload });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = text ? JSON.parse(text) : null;
      } catch {}
      return { status: res.status, headers: res.headers, body: parsed };
    },
    startWorker(opts = {}) {
      const rt = startWorkers({
        engine,
        logger: quietLogger,
        handlers: opts.handlers ?? defaultHandlers,
        declared: opts.declared,
        queues: opts.queues ?? config.WORKER_QUEUES,
        // as a worker process runs them (processes/services/settlers.ts): the group settler last
        settlers: [...(opts.settlers ?? []), groupSettler(backend.groups)],
      });
      runtimes.push(rt);
      return rt;
    },
  };
}
