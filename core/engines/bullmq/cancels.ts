// Cancel of running jobs across processes: the API side publishes on `<prefix>:_conveyor:cancel`; every
// worker process subscribes, fires the run's cancel through the consumer running it (`runs`), or keeps
// the cancel pending when the run has not started here yet.
import type { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { PendingCancels } from '../shared.ts';
import { createRedis, type RedisTarget } from './redis.ts';

export class CancelRelay {
  /** this process's BullMQ workers (the engine's close stops them) */
  readonly workers = new Set<Worker>();
  /** this process's consumers, asked in turn to cancel a run: true when it ran there */
  readonly runs = new Set<(id: string, queue: string | undefined, reason: string) => boolean>();
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
      const { id, queue } = JSON.parse(message) as { id: string; queue?: string };
      let hit = false;
      for (const cancel of this.runs) hit = cancel(id, queue, 'cancelled by request') || hit;
      if (!hit) this.pending.add(id);
    });
    await this.subscriber.subscribe(this.channel);
  }

  close() {
    this.subscriber?.disconnect();
  }
}
