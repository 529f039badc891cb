// Job events on BullMQ: one QueueEvents reader (its own blocking connection) per catalog queue, started on
// the first watch and kept until the engine closes. Each starts from the stream's current last entry,
// read before it starts, so nothing added after a watch resolves is missed; a dropped connection resumes
// from the last entry it read (the stream keeps ~10 000 events per queue).
import { QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { JobEvent } from '../../engine.ts';
import { JobWatchers } from '../shared.ts';
import { createRedis, type RedisTarget } from './redis.ts';

const STATE_EVENTS = ['active', 'waiting', 'delayed', 'completed', 'failed', 'removed'] as const;

export class EventRelay {
  private readonly watchers = new JobWatchers();
  private readers: Promise<QueueEvents[]> | undefined;
  private readonly connections: Redis[] = [];

  constructor(
    private readonly opts: { target: RedisTarget; prefixOf(queue: string): string; queues: readonly string[]; log: Logger },
    private readonly producer: Redis,
  ) {}

  async watch(id: string, fn: (e: JobEvent) => void): Promise<() => void> {
    const off = this.watchers.add(id, fn);
    try {
      await this.start();
    } catch (err) {
      off();
      throw err;
    }
    return off;
  }

  private start(): Promise<QueueEvents[]> {
    this.readers ??= Promise.all(this.opts.queues.map((q) => this.reader(q))).catch((err) => {
      this.readers = undefined;
      throw err;
    });
    return this.readers;
  }

  private async reader(queue: string): Promise<QueueEvents> {
    const last = await this.producer.xrevrange(`${this.opts.prefixOf(queue)}:${queue}:events`, '+', '-', 'COUNT', 1);
    const connection = createRedis(this.opts.target, 'subscriber');
    connection.on('error', (err) => this.opts.log.warn({ queue, err: err.message }, 'redis (events) error'));
    this.connections.push(connection);
    const events = new QueueEvents(queue, {
      connection,
      prefix: this.opts.prefixOf(queue),
      lastEventId: last[0]?.[0] ?? '0',
    });
    events.on('error', (err) => this.opts.log.warn({ queue, err: err.message }, 'queue events error'));
    for (const name of STATE_EVENTS) events.on(name, (a: { jobId: string }) => this.watchers.emit(a.jobId, { type: 'state' }));
    events.on('progress', (a: { jobId: string }) => this.watchers.emit(a.jobId, { type: 'progress' }));
    return events;
  }

  async close() {
    const readers = await this.readers?.catch(() => []);
    await Promise.all((readers ?? []).map((r) => r.close().catch(() => {})));
    for (const c of this.connections) c.disconnect();
  }
}
