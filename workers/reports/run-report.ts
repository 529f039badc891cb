// Run one report: a pg-query-stream cursor → formatter → storage upload, in constant memory.
// The query runs in a READ ONLY transaction on a pooled connection. On abort (job timeout or cancel)
// the running statement is cancelled on the server (pg_cancel_backend from a separate connection), the
// stream is destroyed, the connection is discarded and the partial file removed.

import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import QueryStream from 'pg-query-stream';
import { PermanentError } from '../../core/errors/index.ts';
import type { ReportDefinition } from './definitions.ts';
import { contentTypes, createFormatter, type FormatterStats } from './formats.ts';
import type { ReportFormat } from './kinds.ts';
import type { ReportFileMeta, ReportStorage } from './storage.ts';

/**
 * Date/time and bytea columns keep PostgreSQL's text form: exact, and no JavaScript time-zone shifts.
 * json/jsonb stay text in CSV (the JSON as written) and are embedded as values in JSON Lines.
 */
const TEXT_TYPES = [
  17, // bytea
  1082, // date
  1083, // time
  1114, // timestamp
  1184, // timestamptz
  1186, // interval
  1266, // timetz
  1182, // date[]
  1115, // timestamp[]
  1185, // timestamptz[]
];
const JSON_TYPES = [114, 3802]; // json, jsonb
const identity = (s: string) => s;
export function reportTypes(format: ReportFormat) {
  const text = new Set(format === 'csv' ? [...TEXT_TYPES, ...JSON_TYPES] : TEXT_TYPES);
  return {
    getTypeParser: ((oid: number, fmt?: 'text' | 'binary') =>
      text.has(oid) ? identity : pg.types.getTypeParser(oid, fmt)) as typeof pg.types.getTypeParser,
  };
}

export interface ReportProgress {
  /** percent, when the definition can count its rows (Bull Board draws it as a bar) */
  progress?: number;
  rows: number;
  bytes: number;
}

export interface RunReportOptions {
  pool: pg.Pool;
  storage: ReportStorage;
  definition: ReportDefinition;
  /** already validated by definition.params */
  params: unknown;
  format: ReportFormat;
  id: string;
  signal: AbortSignal;
  onProgress?(p: ReportProgress): void;
  progressIntervalMs?: number;
  /** rows fetched per round trip */
  batchSize?: number;
  now?: () => number;
}

const ABORT_GRACE_MS = 5_000;

/** SQLSTATEs a retry cannot fix: data exceptions, syntax / access rules, unsupported features, writes in a read-only report. */
const PERMANENT_SQLSTATE = /^(22|42|0A)|^25006$/;

function sqlError(err: unknown, report: string): Error {
  const e = err as Error & { code?: string };
  if (typeof e?.code === 'string' && PERMANENT_SQLSTATE.test(e.code)) {
    return new PermanentError(`report ${report}: query failed: ${e.message} (SQLSTATE ${e.code})`);
  }
  return e instanceof Error ? e : new Error(String(err));
}

async function cancelBackend(pool: pg.Pool, pid: number): Promise<void> {
  // a fresh connection: the pool may be full, and the busy one cannot take another statement
  const c = new pg.Client({ ...(pool.options as pg.ClientConfig), application_name: 'conveyor-reports-cancel' });
  c.on('error', () => {});
  try {
    await c.connect();
    await c.query('SELECT pg_cancel_backend($1)', [pid]);
  } finally {
    await c.end().catch(() => {});
  }
}

export async function runReport(opts: RunReportOptions): Promise<ReportFileMeta> {
  const { pool, storage, definition: def, signal } = opts;
  const now = opts.now ?? Date.now;
  signal.throwIfAborted();
  const args = def.args(opts.params as never);
  const client = await pool.connect();
  // pg-pool listens for errors only on idle clients: a reports database restarting mid-report fails the
  // query or stream below, and the client's own 'error' event, unheard, would end the worker process
  const onClientError = () => {};
  client.on('error', onClientError);
  let cancelling: Promise<void> | undefined;
  // if the server does not stop (the cancel could not be delivered), give up on the stream after a grace
  let graceTimer: NodeJS.Timeout | undefined;
  let giveUp: (() => void) | undefined;
  const forced = new Promise<never>((_, reject) => {
    giveUp = () => reject(signal.reason);
  });
  forced.catch(() => {});
  const guarded = <T>(p: Promise<T>) => Promise.race([p, forced]);
  const onAbort = () => {
    cancelling = cancelBackend(pool, (client as unknown as { processID: number }).processID).catch(() => {});
    graceTimer = setTimeout(() => giveUp?.(), ABORT_GRACE_MS).unref();
  };
  signal.addEventListener('abort', onAbort, { once: true });
  let upload: Awaited<ReturnType<ReportStorage['create']>> | undefined;
  let clean = false;
  try {
    if (signal.aborted) onAbort();
    signal.throwIfAborted();
    await guarded(client.query("BEGIN READ ONLY; SET LOCAL TIME ZONE 'UTC'"));
    let total: number | undefined;
    if (def.countSql) {
      const r = await guarded(client.query<{ count: string | number }>(def.countSql, args));
      total = Number(r.rows[0]?.count);
      if (!Number.isFinite(total)) total = undefined;
    }
    upload = await storage.create(opts.id);
    const stats: FormatterStats = { rows: 0, bytes: 0 };
    const stream = new QueryStream(def.sql, args, { rowMode: 'array', batchSize: opts.batchSize ?? 1000, types: reportTypes(opts.format) });
    client.query(stream);
    const columns = () => ((stream.cursor._result.fields ?? []) as { name: string }[]).map((f) => f.name);
    const formatter = createFormatter(opts.format, columns, stats);

    const interval = opts.progressIntervalMs ?? 1000;
    let lastProgress = now();
    const report = () =>
      opts.onProgress?.({
        ...(total !== undefined ? { progress: total === 0 ? 100 : Math.min(100, Math.floor((stats.rows / total) * 100)) } : {}),
        rows: stats.rows,
        bytes: stats.bytes,
      });
    const ticker = async function* (source: AsyncIterable<Buffer>) {
      for await (const chunk of source) {
        yield chunk;
        if (opts.onProgress && now() - lastProgress >= interval) {
          lastProgress = now();
          report();
        }
      }
    };
    await guarded(pipeline(stream, formatter, ticker, upload.stream, { signal }));
    await client.query('COMMIT');
    clean = true;
    report();
    const meta: ReportFileMeta = {
      id: opts.id,
      report: def.name,
      format: opts.format,
      filename: `${def.filename(opts.params as never)}.${opts.format}`,
      contentType: contentTypes[opts.format],
      rows: stats.rows,
      bytes: stats.bytes,
      createdAt: new Date(now()).toISOString(),
    };
    await upload.commit(meta);
    return meta;
  } catch (err) {
    await upload?.discard();
    if (signal.aborted) throw signal.reason instanceof Error ? signal.reason : new Error(String(signal.reason ?? 'aborted'));
    throw sqlError(err, def.name);
  } finally {
    signal.removeEventListener('abort', onAbort);
    clearTimeout(graceTimer);
    await cancelling;
    client.off('error', onClientError);
    if (clean) client.release();
    else {
      // a connection left mid-cursor or mid-transaction is not reused: close it (its backend then exits)
      const ended = new Promise<void>((r) => client.once('end', () => r()));
      client.release(true);
      await Promise.race([ended, sleep(5_000)]);
    }
  }
}
