// Coalesces index writes from many concurrently running jobs into `_bulk` requests. Each handler call
// submits its operation and awaits its own outcome; a request goes out when `maxItems` operations (or
// `maxBytes` of NDJSON) are pending, or `waitMs` after the first one arrived. Each item's result maps
// back to its own job: one bad document never fails the others.
import { type Client, errors } from '@elastic/elasticsearch';
import type { Logger } from 'pino';
import { buildingAliasName } from './names.ts';
import type { WriteTargets } from './write-targets.ts';

export interface IndexOperation {
  /** the alias on the cluster (`<prefix>-<name>`) */
  alias: string;
  operation: 'upsert' | 'delete';
  id: string;
  document?: Record<string, unknown>;
  /** external version; without it the write is last-writer-wins */
  version?: number;
}

export type ItemOutcome =
  | { kind: 'done'; result: 'created' | 'updated' | 'deleted' | 'not_found' | 'stale'; index: string; version?: number }
  /** try again later: `rejected` = the cluster pushed back (429 / es_rejected_execution_exception) */
  | { kind: 'retry'; rejected: boolean; reason: string }
  /** retrying cannot help (mapping error, 400): dead-letter with `reason` */
  | { kind: 'permanent'; reason: string };

export interface BulkBatcherOptions {
  client: Client;
  targets: WriteTargets;
  logger: Logger;
  maxItems: number;
  maxBytes: number;
  waitMs: number;
}

interface Pending {
  op: IndexOperation;
  /** NDJSON lines for the live alias (and, during a rebuild, the same again for the building alias) */
  lines: (alias: string) => string[];
  bytes: number;
  resolve(o: ItemOutcome): void;
  reject(e: unknown): void;
  signal?: AbortSignal;
  onAbort?: () => void;
}

type BulkItem = { status: number; result?: string; _index?: string; _version?: number; error?: { type: string; reason?: string | null } };

function actionLines(op: IndexOperation, source: string | undefined) {
  return (target: string) => {
    const meta: Record<string, unknown> = { _index: target, _id: op.id, require_alias: true };
    if (op.version !== undefined) Object.assign(meta, { version: op.version, version_type: 'external' });
    const action = JSON.stringify({ [op.operation === 'delete' ? 'delete' : 'index']: meta });
    return source === undefined ? [action] : [action, source];
  };
}

/** What one bulk item's result means for its job. */
export function classifyItem(op: IndexOperation, item: BulkItem): ItemOutcome {
  const { status, error } = item;
  if (!error && status < 300)
    return { kind: 'done', result: item.result as 'created', index: item._index ?? op.alias, version: item._version };
  if (op.operation === 'delete' && status === 404 && (!error || item.result === 'not_found')) {
    return { kind: 'done', result: 'not_found', index: item._index ?? op.alias, version: item._version };
  }
  const reason = `${error?.type ?? `status ${status}`}: ${error?.reason ?? ''}`.trim();
  // an older (or repeated) event under external versioning: the stored document is newer, nothing to do
  if (status === 409 && error?.type === 'version_conflict_engine_exception')
    return { kind: 'done', result: 'stale', index: item._index ?? op.alias };
  if (status === 429 || error?.type === 'es_rejected_execution_exception') return { kind: 'retry', rejected: true, reason };
  if (status === 400) return { kind: 'permanent', reason };
  // 404 (alias missing: setup not run yet), 403 (index blocked), 5xx: transient
  return { kind: 'retry', rejected: false, reason };
}

/** A job's outcome from its live-alias item and, during a rebuild, its building-index item. */
function combine(primary: ItemOutcome, secondary: ItemOutcome | undefined, secondaryItem: BulkItem | undefined): ItemOutcome {
  if (!secondary) return primary;
  // the rebuild finished (or was abandoned) between our lookup and the write: the live alias has it
  if (secondaryItem?.status === 404 && secondaryItem.error?.type === 'index_not_found_exception') return primary;
  if (primary.kind === 'retry') return primary;
  if (secondary.kind === 'retry') return secondary;
  if (primary.kind === 'permanent') return primary;
  if (secondary.kind === 'permanent') return { kind: 'permanent', reason: `the index being rebuilt rejected it: ${secondary.reason}` };
  return primary;
}

export class BulkBatcher {
  private pending: Pending[] = [];
  private pendingBytes = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly inFlight = new Set<Promise<void>>();
  /** `_bulk` requests sent and items sent (live-alias items only), for logs and tests */
  readonly stats = { requests: 0, items: 0 };

  constructor(private readonly opts: BulkBatcherOptions) {}

  submit(op: IndexOperation, signal?: AbortSignal): Promise<ItemOutcome> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    const source = op.operation === 'delete' ? undefined : JSON.stringify(op.document ?? {});
    const lines = actionLines(op, source);
    const bytes = lines(op.alias).reduce((n, l) => n + Buffer.byteLength(l) + 1, 0);
    return new Promise<ItemOutcome>((resolve, reject) => {
      const p: Pending = { op, lines, bytes, resolve, reject, signal };
      if (signal) {
        // not sent yet: take it out; already sent: the runtime fails the job on abort, the result is dropped
        p.onAbort = () => {
          const i = this.pending.indexOf(p);
          if (i >= 0) {
            this.pending.splice(i, 1);
            this.pendingBytes -= p.bytes;
          }
          reject(signal.reason);
        };
        signal.addEventListener('abort', p.onAbort, { once: true });
      }
      this.pending.push(p);
      this.pendingBytes += bytes;
      if (this.pending.length >= this.opts.maxItems || this.pendingBytes >= this.opts.maxBytes) this.flush();
      else this.timer ??= setTimeout(() => this.flush(), this.opts.waitMs);
    });
  }

  /** Send what is pending now (in requests of at most maxItems / maxBytes). */
  flush() {
    clearTimeout(this.timer);
    this.timer = undefined;
    while (this.pending.length > 0) {
      let n = 0;
      let bytes = 0;
      while (
        n < this.pending.length &&
        n < this.opts.maxItems &&
        (n === 0 || bytes + (this.pending[n] as Pending).bytes <= this.opts.maxBytes)
      ) {
        bytes += (this.pending[n] as Pending).bytes;
        n++;
      }
      const batch = this.pending.splice(0, n);
      this.pendingBytes -= bytes;
      const sending = this.send(batch).finally(() => this.inFlight.delete(sending));
      this.inFlight.add(sending);
    }
  }

  private async send(batch: Pending[]) {
    for (const p of batch) if (p.signal && p.onAbort) p.signal.removeEventListener('abort', p.onAbort);
    const settle = (p: Pending, o: ItemOutcome) => p.resolve(o);
    let building: Set<string>;
    try {
      building = await this.opts.targets.building(batch.map((p) => p.op.alias));
    } catch (err) {
      for (const p of batch)
        settle(p, { kind: 'retry', rejected: false, reason: `could not look up rebuilds in progress: ${(err as Error).message}` });
      return;
    }
    const operations: string[] = [];
    /** per pending: index of its live item, and of its building item (or -1) */
    const slots: [number, number][] = [];
    let items = 0;
    for (const p of batch) {
      const primary = items++;
      operations.push(...p.lines(p.op.alias));
      let secondary = -1;
      if (building.has(p.op.alias)) {
        secondary = items++;
        operations.push(...p.lines(buildingAliasName(p.op.alias)));
      }
      slots.push([primary, secondary]);
    }
    this.stats.requests++;
    this.stats.items += batch.length;
    let response: { errors: boolean; items: Record<string, BulkItem>[] };
    try {
      response = (await this.opts.client.bulk({ operations })) as never;
    } catch (err) {
      const status = err instanceof errors.ResponseError ? err.statusCode : undefined;
      const rejected = status === 429;
      const reason = `bulk request failed${status ? ` (${status})` : ''}: ${(err as Error).message}`;
      this.opts.logger.warn({ items: batch.length, status, err: (err as Error).message }, 'search bulk request failed; its jobs retry');
      for (const p of batch) settle(p, { kind: 'retry', rejected, reason });
      return;
    }
    const itemAt = (i: number): BulkItem | undefined => {
      const entry = response.items[i];
      return entry ? (Object.values(entry)[0] as BulkItem) : undefined;
    };
    batch.forEach((p, k) => {
      const [pi, si] = slots[k] as [number, number];
      const pItem = itemAt(pi);
      if (!pItem) {
        settle(p, { kind: 'retry', rejected: false, reason: 'bulk response is missing this item' });
        return;
      }
      const sItem = si >= 0 ? itemAt(si) : undefined;
      settle(p, combine(classifyItem(p.op, pItem), sItem ? classifyItem(p.op, sItem) : undefined, sItem));
    });
  }

  /** Send what is pending and wait for every request in flight. */
  async close() {
    this.flush();
    await Promise.allSettled([...this.inFlight]);
  }
}
