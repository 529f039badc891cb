// Bull Board on BullMQ: its native adapter over our own Queue objects (every queue and its dead-letter
// queue) on the connection the backend gives the board, same prefix as the engine.
import type { BaseAdapter } from '@bull-board/api/baseAdapter';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { BoardSource } from '../../../backend.ts';
import { dlqName, META_KEY } from '../engine.ts';

const stripMeta = (data: unknown) => {
  if (data && typeof data === 'object' && !Array.isArray(data) && META_KEY in data) {
    const { [META_KEY]: _meta, ...rest } = data as Record<string, unknown>;
    return rest;
  }
  return data;
};

/** `redis` is borrowed (the backend closes it); close() closes the Queue objects. */
export function bullmqBoardSource(
  redis: Redis,
  prefixOf: (queue: string) => string,
  queueNames: readonly string[],
  logger: Logger,
): BoardSource {
  const queues = new Map<string, Queue>();
  for (const name of queueNames.flatMap((q) => [q, dlqName(q)])) {
    const q = new Queue(name, { connection: redis, prefix: prefixOf(name) });
    q.on('error', (err) => logger.warn({ queue: name, err: err.message }, 'dashboard queue error'));
    queues.set(name, q);
  }
  return {
    adapters(readOnly): BaseAdapter[] {
      return [...queues].map(([name, q]) => {
        const dead = name.endsWith('-dlq');
        const a = new BullMQAdapter(q, {
          readOnlyMode: readOnly,
          allowRetries: !readOnly && !dead,
          description: dead ? 'Dead letters. Replay them from /admin/dead-letters.' : '',
        });
        a.setFormatter('data', stripMeta);
        return a;
      });
    },
    async afterRetry(queue, jobId) {
      const dlq = queues.get(dlqName(queue));
      const main = queues.get(queue);
      if (!dlq || !main) return;
      const ids = jobId ? [jobId] : (await dlq.getJobs(['waiting', 'prioritized', 'delayed'], 0, 999)).map((j) => String(j?.id));
      for (const id of ids) {
        const state = await main.getJobState(id);
        if (state !== 'failed' && state !== 'unknown') await dlq.remove(id);
      }
    },
    async close() {
      await Promise.all([...queues.values()].map((q) => q.close().catch(() => {})));
    },
  };
}
