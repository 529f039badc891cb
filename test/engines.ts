// The engines the behavioural suite (test/engine-suite.test.ts) runs against. Each factory makes an
// isolated engine (its own prefix or schema) and cleans up after itself.

import type { Engine } from '../core/engine.ts';
import { BullmqEngine } from '../core/engines/bullmq/engine.ts';
import { queueNames } from '../workers/catalog.ts';
import { dropPrefix, quietLogger, REDIS_URL, uniquePrefix } from './helpers.ts';
import { pgbossFactory } from './pgboss-helpers.ts';

export interface EngineFactory {
  name: string;
  /** undefined when the engine can run here; otherwise why the suite is skipped (printed) */
  unavailable?: () => Promise<string | undefined>;
  create(opts?: { lockDurationMs?: number; stalledIntervalMs?: number }): Promise<{ engine: Engine; cleanup(): Promise<void> }>;
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
    return {
      engine,
      cleanup: async () => {
        await engine.close();
        await dropPrefix(prefix);
      },
    };
  },
};

export const engineFactories: EngineFactory[] = [bullmqFactory, pgbossFactory];
