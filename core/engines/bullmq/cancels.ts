// Cancel of running jobs across processes: the API side publishes on `<prefix>:_conveyor:cancel`; every
// worker process subscribes, fires the run's AbortSignal through BullMQ's worker.cancelJob(), or keeps
// the cancel pending when the run has not started here yet.
import type { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { PendingCancels } from '../shared.ts';
import { createRedis, type RedisTarget } from './redis.ts';

export class CancelRelay {
  /** this process's workers, asked in turn to cancel a run */
  readonly workers = new Set<Worker>();
  readonly pending = new PendingCancels();
  private subscriber: Redis | undefined;

  constructor(
    private readonly target: RedisTarget,
    private readonly channel: string,
    private readonly log: Logger,
  ) {}

  /** Ask whichever process runs job `id` to cancel it. */
  async publish(producer: Redis, id: string, queue: string) {
    await producer.publish(this.channel, JSON.stringify({ id, queue }));
  }

  /** Subscribe once (the first consumer of this process does it). */
  async subscribe() {
    if (this.subscriber) return;
    this.subscriber = createRedis(this.target, 'subscriber');
    this.subscriber.on('error', (err) => this.log.warn({ err: err.message }, 'redis (subscriber) error'));
    this.subscriber.on('message', (_channel, message) => {
      const { id } = JSON.parse(message) as { id: string };
      let hit = false;
      for (const w of this.workers) hit = w.cancelJob(id, 'cancelled by request') || hit;
      if (!hit) this.pending.add(id);
    });
    await this.subscriber.subscribe(this.channel);
  }

  close() {
    this.subscriber?.disconnect();
  }
}
