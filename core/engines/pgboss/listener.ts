// What reaches this process by NOTIFY, on one LISTEN connection: new jobs (pg-boss's job-created channel:
// wake the queue's consumers), our control channel (cancel a run here, pause / resume a queue) and, once
// something here watches a job, the events channel (state changes and progress: events.ts).
// A lost connection is re-opened after a second; meanwhile consumers poll, and the paused set is re-read
// every few seconds.
import pg from 'pg';
import type { Logger } from 'pino';
import type { JobEvent } from '../../engine.ts';
import { JobWatchers, PendingCancels, type RunCancel } from '../shared.ts';
import type { EventMessage } from './events.ts';

type ControlMessage = { t: 'cancel'; id: string } | { t: 'pause' | 'resume'; queue: string };

export interface ListenerOptions {
  databaseUrl: string;
  /** pg-boss's job-created channel */
  bossChannel: string;
  /** ours: cancel / pause / resume */
  controlChannel: string;
  /** job state changes and progress (LISTENed to only while something here watches) */
  eventsChannel: string;
  log: Logger;
  /** the paused queues, as stored */
  readPaused(): Promise<string[]>;
}

export class Listener {
  /** queues paused now (kept current by NOTIFY, re-read as a backstop) */
  paused = new Set<string>();
  /** job uuid → the cancel of a run in this process */
  readonly running = new Map<string, RunCancel>();
  /** cancels for runs that had not started here when they arrived */
  readonly pendingCancels = new PendingCancels();
  /** queue → wake functions of this process's consumers */
  private readonly wakers = new Map<string, Set<() => void>>();
  private client: pg.Client | undefined;
  private readonly watchers = new JobWatchers();
  /** resolves when LISTEN on the events channel is live on the current connection */
  private eventsListening: Promise<void> | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private refreshTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly opts: ListenerOptions) {}

  /** Call `fn` whenever jobs may have arrived on `queue`; returns the unsubscribe. */
  onWake(queue: string, fn: () => void): () => void {
    let set = this.wakers.get(queue);
    if (!set) {
      set = new Set();
      this.wakers.set(queue, set);
    }
    set.add(fn);
    return () => this.wakers.get(queue)?.delete(fn);
  }

  /** Watch one row's events; resolves once LISTEN on the events channel is live. */
  async watch(uuid: string, fn: (e: JobEvent) => void): Promise<() => void> {
    const off = this.watchers.add(uuid, fn);
    try {
      await this.ensure();
      if (!this.client) throw new Error('postgres LISTEN connection unavailable');
      const client = this.client;
      this.eventsListening ??= client.query(`LISTEN ${this.opts.eventsChannel}`).then(() => {});
      await this.eventsListening;
    } catch (err) {
      off();
      throw err;
    }
    return off;
  }

  wake(queue: string) {
    for (const w of this.wakers.get(queue) ?? []) w();
  }

  async refreshPaused() {
    const next = new Set(await this.opts.readPaused());
    const resumed = [...this.paused].filter((q) => !next.has(q));
    this.paused = next;
    for (const q of resumed) this.wake(q);
  }

  /** Pauses reach running workers by NOTIFY at once; this re-read covers a lost LISTEN connection. */
  startPausedRefresh(everyMs = 5_000) {
    clearInterval(this.refreshTimer);
    this.refreshTimer = setInterval(() => void this.refreshPaused().catch(() => {}), everyMs);
    this.refreshTimer.unref();
  }

  /** Open the LISTEN connection unless it is open (or the engine closed). */
  async ensure() {
    if (this.client || this.closed) return;
    const client = new pg.Client({ connectionString: this.opts.databaseUrl, application_name: 'conveyor-pgboss-listen' });
    this.client = client;
    const retry = (err?: Error) => this.lost(client, err);
    client.on('error', retry);
    client.on('end', () => retry());
    client.on('notification', (msg) => {
      if (msg.channel === this.opts.bossChannel) this.wake(msg.payload ?? '');
      else if (msg.channel === this.opts.controlChannel && msg.payload) this.onControl(msg.payload);
      else if (msg.channel === this.opts.eventsChannel && msg.payload) this.onEvents(msg.payload);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${this.opts.bossChannel}; LISTEN ${this.opts.controlChannel}`);
      if (this.watchers.size > 0) {
        this.eventsListening = client.query(`LISTEN ${this.opts.eventsChannel}`).then(() => {});
        await this.eventsListening;
      }
      // anything sent while we were not listening: fetch once, re-read pauses, watchers re-read their jobs
      await this.refreshPaused();
      for (const q of this.wakers.keys()) this.wake(q);
      this.watchers.emitAll({ type: 'state' });
    } catch (err) {
      retry(err as Error);
    }
  }

  private lost(client: pg.Client, err?: Error) {
    if (this.client !== client) return;
    this.client = undefined;
    this.eventsListening = undefined;
    client.end().catch(() => {});
    if (this.closed) return;
    this.opts.log.warn({ err: err?.message }, 'LISTEN connection lost; polling until it is back');
    this.retryTimer = setTimeout(() => void this.ensure().catch(() => {}), 1_000);
    this.retryTimer.unref();
  }

  private onEvents(payload: string) {
    const msg = JSON.parse(payload) as EventMessage;
    for (const id of msg.ids) this.watchers.emit(id, { type: msg.t });
  }

  private onControl(payload: string) {
    const msg = JSON.parse(payload) as ControlMessage;
    if (msg.t === 'cancel') {
      const run = this.running.get(msg.id);
      if (run) run.cancel('cancelled by request');
      else this.pendingCancels.add(msg.id);
    } else {
      if (msg.t === 'pause') this.paused.add(msg.queue);
      else this.paused.delete(msg.queue);
      this.wake(msg.queue);
    }
  }

  async close() {
    this.closed = true;
    clearTimeout(this.retryTimer);
    clearInterval(this.refreshTimer);
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => {});
  }
}
