// The engines every engine-independent suite runs on. `describeEngines(title, fn)` declares the block once
// per engine as "[bullmq] title" / "[pgboss] title", so every test name shows its engine; `fn` gets the
// engine's name for setup({ engine }) and engineEnv(). The factories build bare engines (own prefix or
// schema, cleaned up) for the behavioural suite (test/engine-suite.test.ts) and the side-store suites.

import { describe } from 'vitest';
import type { Backend } from '../core/backend.ts';
import type { Engine } from '../core/engine.ts';
import { BullmqBackend } from '../core/engines/bullmq/backend.ts';
import { BullmqEngine } from '../core/engines/bullmq/engine.ts';
import type { PgbossEngine } from '../core/engines/pgboss/engine.ts';
import { queueNames } from '../workers/catalog.ts';
import { dropPrefix, type EngineName, quietLogger, REDIS_URL, uniquePrefix } from './helpers.ts';
import { pgbossFactory } from './pgboss-helpers.ts';

export interface EngineFactory {
  name: EngineName;
  /** undefined when the engine can run here; otherwise why the suite is skipped (printed) */
  unavailable?: () => Promise<string | undefined>;
  /** the engine and its backend (the side stores beside it); cleanup closes both and drops the data */
  create(opts?: { lockDurationMs?: number; stalledIntervalMs?: number; priorityAgingMs?: number }): Promise<{
    engine: Engine;
    backend: Backend;
    /** another engine on the same store (a second worker process, in effect); the caller closes it */
    twin(): Promise<Engine>;
    cleanup(): Promise<void>;
  }>;
}

export const bullmqFactory: EngineFactory = {
  name: 'bullmq',
  async create(opts = {}) {
    const prefix = uniquePrefix('eng');
    const makeEngine = () =>
      new BullmqEngine({
        redisUrl: REDIS_URL,
        prefix,
        logger: quietLogger,
        idempotencyTtlSeconds: 3600,
        queues: queueNames,
        worker: {
          lockDurationMs: opts.lockDurationMs ?? 5_000,
          stalledIntervalMs: opts.stalledIntervalMs ?? 2_000,
          maxStalledCount: 2,
          priorityAgingMs: opts.priorityAgingMs,
        },
      });
    const engine = makeEngine();
    const backend = new BullmqBackend(engine, { redisUrl: REDIS_URL, prefix, queues: queueNames, logger: quietLogger });
    return {
      engine,
      backend,
      twin: async () => makeEngine(),
      cleanup: async () => {
        await backend.close();
        await dropPrefix(prefix);
      },
    };
  },
};

export const engineFactories: EngineFactory[] = [bullmqFactory, pgbossFactory];
export const engineNames: EngineName[] = engineFactories.map((f) => f.name);

/** Where the engines differ by design (docs/engines.md): what an engine-independent test expects of each. */
export const engineTraits: Record<EngineName, { boardRetryOfDeadJob: string }> = {
  bullmq: { boardRetryOfDeadJob: 'continues its attempts' },
  /** Bull Board's retry of a dead job replays it under its id (docs/engines.md "Dashboard") */
  pgboss: { boardRetryOfDeadJob: 'replays it with fresh attempts' },
};

/**
 * Every job of `queue` in any state, id → creation time, read below the engine seam (the seam has no
 * "list a queue"): what a test needs to prove that nothing else was enqueued.
 */
export const jobsOf: Record<EngineName, (engine: Engine, queue: string) => Promise<Map<string, number>>> = {
  async bullmq(engine, queue) {
    const jobs = await (engine as BullmqEngine)
      .queue(queue)
      .getJobs(['waiting', 'prioritized', 'delayed', 'active', 'completed', 'failed']);
    return new Map(jobs.filter(Boolean).map((j) => [String(j.id), j.timestamp]));
  },
  async pgboss(engine, queue) {
    const all = ['created', 'retry', 'active', 'completed', 'cancelled', 'failed'] as const;
    const jobs = await (engine as PgbossEngine).listJobs(queue, [...all], 0, 99_999);
    return new Map(jobs.map((j) => [j.id, Date.parse(j.createdAt)]));
  },
};

// Redis and PostgreSQL are made to answer by test/global-setup.ts; an engine whose store still cannot be
// reached is skipped, with the reason printed, rather than failing every test of the file.
const unavailable = new Map<EngineName, string | undefined>(
  await Promise.all(engineFactories.map(async (f) => [f.name, await f.unavailable?.()] as const)),
);

type EngineSuite = (engine: EngineName) => void;

/** `describe(title[, options], fn)` once per engine, named "[engine] title"; fn(engine) declares the tests. */
export function describeEngines(title: string, fn: EngineSuite): void;
export function describeEngines(title: string, options: { timeout?: number }, fn: EngineSuite): void;
export function describeEngines(title: string, a: EngineSuite | { timeout?: number }, b?: EngineSuite) {
  const [options, fn] = typeof a === 'function' ? [{}, a] : [a, b as EngineSuite];
  for (const engine of engineNames) {
    const why = unavailable.get(engine);
    if (why) console.warn(`[${engine}] ${title}: skipped, ${why}`);
    describe.skipIf(!!why)(`[${engine}] ${title}`, options, () => fn(engine));
  }
}
