// The engines the behavioural suite (test/engine-suite.test.ts) runs against. Each factory makes an
// isolated engine (its own prefix or schema) and cleans up after itself.

import type { Backend } from '../core/backend.ts';
import type { Engine } from '../core/engine.ts';
import { BullmqBackend } from '../core/engines/bullmq/backend.ts';
import { BullmqEngine } from '../core/engines/bullmq/engine.ts';
import { queueNames } from '../workers/catalog.ts';
import { dropPrefix, quietLogger, REDIS_URL, uniquePrefix } from './helpers.ts';
import { pgbossFactory } from './pgboss-helpers.ts';

export interface EngineFactory {
  name: string;
  /** undefined when the engine can run here; otherwise why the suite is skipped (printed) */
  unavailable?: () => Promise<string | undefined>;
  /** the engine and its backend (the side stores beside it); cleanup closes both and drops the data */
  create(opts?: {
    lockDurationMs?: number;
    stalledIntervalMs?: number;
  }): Promise<{ engine: Engine; backend: Backend; cleanup(): Promise<void> }>;
}

export const bullmqFactory: EngineFactory = {
  name: 'bullmq',
  async create(opts = {}) {
    const prefix = uniquePrefix('eng');
    const engine = new BullmqEngine({
      redisUrl: REDIS_URL,
      prefix,
      logger: quietLogger,
      idempotencyTtlSeconds: 3600,
      queues: queueNames,
      worker: { lockDurationMs: opts.lockDurationMs ?? 5_000, stalledIntervalMs: opts.stalledIntervalMs ?? 2_000, maxStalledCount: 2 },
    });
    const backend = new BullmqBackend(engine, { redisUrl: REDIS_URL, prefix, queues: queueNames, logger: quietLogger });
    return {
      engine,
      backend,
      cleanup: async () => {
        await backend.close();
        await dropPrefix(prefix);
      },
    };
  },
};

export const engineFactories: EngineFactory[] = [bullmqFactory, pgbossFactory];
