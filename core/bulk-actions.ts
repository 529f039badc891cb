// Bulk actions by filter (POST /v1/jobs/actions, the dashboard's confirm step): walk the search
// (core/search.ts) page by page and act on each job. Progress is a record in the backend's store
// (a ledger record, kept ACTION_TTL_SECONDS; its field is `status`, as ledgers keep `state` for themselves) saved after every batch with the cursor reached, so another process
// can read it and, when the process running it died, resume from there. docs/job-search.md.
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Backend } from './backend.ts';
import type { JobView } from './engine.ts';
import { afterCancel } from './groups/cancel.ts';
import { cancelWithEvent, webhookEvents } from './outbound/events.ts';
import type { JobFilter } from './search.ts';

export const BULK_ACTIONS = ['retry', 'cancel', 'delete', 'replay', 'promote'] as const;
export type BulkActionName = (typeof BULK_ACTIONS)[number];

const ACTION_TTL_SECONDS = 7 * 86_400;
const BATCH = 100;
const PARALLEL = 10;
/** a running action whose record was not saved for this long is reported `interrupted` (resumable) */
export const STALE_MS = 30_000;

export interface BulkAction {
  id: string;
  action: BulkActionName;
  filter: JobFilter;
  /** the key name or dashboard user that started it */
  by: string;
  requestId: string;
  status: 'running' | 'done' | 'interrupted';
  /** jobs the filter matched when it started */
  matched: number;
  /** jobs looked at / acted on / not in a state the action applies to / that failed */
  processed: number;
  succeeded: number;
  skipped: number;
  failed: number;
  lastError: string | null;
  /** where the walk is (the search's cursor); null before the first batch */
  cursor: string | null;
  createdAt: string;
  updatedAt: string;
  finishedAt: string | null;
}

type Outcome = 'succeeded' | 'skipped';

export class BulkActions {
  private readonly store;

  constructor(
    private readonly backend: Backend,
    private readonly log: Logger,
  ) {
    this.store = backend.ledger<BulkAction>('bulk-actions', { ttlSeconds: ACTION_TTL_SECONDS });
  }

  count(filter: JobFilter): Promise<number> {
    return this.backend.jobReads.count(filter);
  }

  /** Records the action and runs it in the background; resolves with its first record. */
  async start(action: BulkActionName, filter: JobFilter, by: string, requestId: string): Promise<BulkAction> {
    const record = await this.begin(action, filter, by, requestId);
    void this.run(record);
    return record;
  }

  /**
   * Records the action and runs it to its end: resolves with the last record (`done`, or `running` when the store
   * stopped it: resumable). Bull Board's promote-all goes through here (dashboard/board-promote.ts).
   */
  async runToEnd(action: BulkActionName, filter: JobFilter, by: string, requestId: string): Promise<BulkAction> {
    return this.run(await this.begin(action, filter, by, requestId));
  }

  private async begin(action: BulkActionName, filter: JobFilter, by: string, requestId: string): Promise<BulkAction> {
    const now = new Date().toISOString();
    const record: BulkAction = {
      id: randomUUID(),
      action,
      filter,
      by,
      requestId,
      status: 'running',
      matched: await this.count(filter),
      processed: 0,
      succeeded: 0,
      skipped: 0,
      failed: 0,
      lastError: null,
      cursor: null,
      createdAt: now,
      updatedAt: now,
      finishedAt: null,
    };
    await this.store.commit(record.id, record);
    this.log.info({ actionId: record.id, action, by, requestId, matched: record.matched }, 'bulk action started');
    return record;
  }

  /** The record; a running one nobody saved for STALE_MS is `interrupted`. */
  async get(id: string): Promise<BulkAction | null> {
    const r = await this.store.get(id);
    if (r && r.status === 'running' && Date.now() - Date.parse(r.updatedAt) > STALE_MS) return { ...r, status: 'interrupted' };
    return r;
  }

  /** Continue an interrupted action from its cursor; null when there is none, false when it is not interrupted. */
  async resume(id: string): Promise<BulkAction | null | false> {
    const r = await this.get(id);
    if (!r) return null;
    if (r.status !== 'interrupted') return false;
    const record: BulkAction = { ...r, status: 'running', updatedAt: new Date().toISOString() };
    await this.store.commit(id, record);
    this.log.info({ actionId: id, cursor: r.cursor }, 'bulk action resumed');
    void this.run(record);
    return record;
  }

  /** Resolves when the action is done (tests; a caller waiting for the whole run). */
  async run(record: BulkAction): Promise<BulkAction> {
    const r = record;
    try {
      for (;;) {
        const page = await this.backend.jobReads.search({ ...r.filter, limit: BATCH, cursor: r.cursor });
        for (let i = 0; i < page.jobs.length; i += PARALLEL) {
          const outcomes = await Promise.allSettled(page.jobs.slice(i, i + PARALLEL).map((j) => this.apply(r.action, j)));
          for (const o of outcomes) {
            r.processed++;
            if (o.status === 'rejected') {
              r.failed++;
              r.lastError = String((o.reason as Error)?.message ?? o.reason).slice(0, 500);
            } else r[o.value]++;
          }
        }
        r.cursor = page.next;
        r.updatedAt = new Date().toISOString();
        if (!page.next) break;
        await this.store.commit(r.id, r);
      }
      r.status = 'done';
      r.finishedAt = r.updatedAt;
      await this.store.commit(r.id, r);
      this.log.info({ actionId: r.id, processed: r.processed, succeeded: r.succeeded, failed: r.failed }, 'bulk action done');
    } catch (err) {
      // the store failed: the record keeps the last batch saved and turns `interrupted` after STALE_MS
      this.log.warn({ actionId: r.id, err: (err as Error).message }, 'bulk action stopped; resume it');
    }
    return r;
  }

  private async apply(action: BulkActionName, job: JobView): Promise<Outcome> {
    const { engine, jobActions } = this.backend;
    const ok = (done: boolean): Outcome => (done ? 'succeeded' : 'skipped');
    switch (action) {
      case 'replay':
        return ok(job.state === 'dead' && (await engine.replayDeadLetter(job.id, [job.queue])) !== null);
      case 'retry':
        if (job.state === 'dead') return ok((await engine.replayDeadLetter(job.id, [job.queue])) !== null);
        return ok((job.state === 'failed' || job.state === 'cancelled') && (await jobActions.retry(job)));
      case 'cancel': {
        if (job.state !== 'waiting' && job.state !== 'delayed' && job.state !== 'active') return 'skipped';
        // the job.cancelled deliveries first (intents checked at run time), then the cancel (docs/webhooks.md)
        const r = await cancelWithEvent(webhookEvents(this.backend), job, () => engine.cancel(job.id));
        if (r.outcome === 'cancelled') await afterCancel(this.backend.groups, job, this.log);
        return ok(r.outcome === 'cancelled' || r.outcome === 'cancelling');
      }
      case 'delete':
        return ok(job.state !== 'active' && (await jobActions.remove(job)));
      case 'promote':
        // a grouped job is released by its group (docs/groups.md): promoting it would run it past the group's limits
        return ok(job.state === 'delayed' && job.group === undefined && (await jobActions.promote(job)));
    }
  }
}
