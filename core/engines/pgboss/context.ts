// What the pg-boss engine's role modules share: the stored shapes (meta, output, letters, rows), the
// connections and statements (PgbossContext), and small helpers (priority mapping, transactions).
import type pg from 'pg';
import type { Db as BossDb, PgBoss, SendOptions } from 'pg-boss';
import type { Logger } from 'pino';
import type { AttemptRecord, DeadLetter, JobEvent, JobMeta } from '../../engine.ts';
import { assertWithinDeadline, committing, isStoreUnavailable } from '../../errors/store-unavailable.ts';
import { splitEnvelope } from '../shared.ts';
import type { Statements } from './sql.ts';

/** What we keep beside the payload: the seam's JobMeta plus what pg-boss has no column for. */
export interface StoredMeta extends JobMeta {
  kind: string;
  /** the caller's id when it was not a UUID (deterministic ids) */
  id?: string;
  maxAttempts: number;
  /** the priority it was enqueued with (the row's column holds the aged one) */
  priority?: number;
  /** failedSeconds is read when the job fails; a count key's presence lets retention by count trim it
   * (completedSeconds is in the row's deletion_seconds; rows written before kept it here too) */
  retention?: { completedSeconds?: number; failedSeconds: number; completedCount?: number; failedCount?: number };
}

/** `output` of a job row while it is not completed. */
export interface Output {
  progress?: unknown;
  error?: { message: string; name?: string; stack?: string };
  attempts?: AttemptRecord[];
  log?: string[];
  result?: unknown;
}

/** Marks a dead-letter row written by us (pg-boss's own copies carry the job's data instead). */
export const LETTER_KEY = '$deadLetter';

export interface StoredLetter extends DeadLetter {
  [LETTER_KEY]: true;
  raw: Record<string, unknown>;
  send: SendOptions;
}

export interface JobRow {
  id: string;
  name: string;
  priority: number;
  data: Record<string, unknown> | null;
  state: 'created' | 'retry' | 'active' | 'completed' | 'cancelled' | 'failed';
  retry_limit: number;
  retry_count: number;
  start_after: Date;
  created_on: Date;
  started_on: Date | null;
  completed_on: Date | null;
  output: Output | null;
  future: boolean;
  dead: boolean;
}

/** A query on the pool or on a client; rows are typed where they are read. */
export type Query = (text: string, values?: unknown[]) => Promise<{ rows: any[] }>;

/** What every role module of the engine works with. */
export interface PgbossContext {
  readonly schema: string;
  readonly pool: pg.Pool;
  readonly boss: PgBoss;
  readonly log: Logger;
  /** every statement of sql/, for this schema */
  readonly sql: Statements;
  /** a query on the pool */
  readonly q: Query;
  /** the catalog's queues (where a job is looked up by id alone) */
  readonly queues: readonly string[];
  /** our heartbeat: touched every third of it; a lapse this long and the stall sweep puts the job back */
  readonly heartbeatSeconds: number;
  /** pg-boss's heartbeat on each job: longer, so pg-boss's monitor (which spends an attempt) is only a backstop */
  readonly bossHeartbeatSeconds: number;
  readonly pollIntervalMs: number;
  /** waiting this long raises a job's priority by one (toward 1); 0: no aging (sql/age-priorities.sql) */
  readonly priorityAgingMs: number;
  /** how long a dead letter is kept (DEAD_LETTER_RETENTION_SECONDS) */
  readonly deadLetterRetentionSeconds: number;
  /** IDEMPOTENCY_TTL_SECONDS: keyed jobs are kept at least this long, whatever their kind's retention */
  readonly idempotencyTtlSeconds: number;
  /** our NOTIFY channel for cancel / pause / resume */
  readonly controlChannel: string;
  /** tell watchers (any process's) that these rows changed state or reported progress; never throws */
  emitEvents(uuids: string[], type: JobEvent['type']): void;
  /** starts pg-boss and installs the schema once; every operation awaits it */
  start(): Promise<void>;
}

/** pg-boss runs higher numbers first; we run 1 (most urgent) … 10 first to last. */
export const toBossPriority = (p: number) => (p >= 1 && p <= 10 ? 11 - p : 0);
export const fromBossPriority = (p: number) => (p >= 1 && p <= 10 ? 11 - p : p);

export const splitData = (data: unknown) => splitEnvelope<StoredMeta>(data, () => ({ kind: 'unknown', maxAttempts: 1 }));

/** A pg client (or pool) as pg-boss's `db` option. */
export const asBossDb = (client: pg.ClientBase | pg.Pool): BossDb => ({
  executeSql: (text, values) => client.query(text, values as unknown[]),
});

/** Run `fn` on one pooled client; a client whose connection broke is discarded, not returned to the pool. */
export async function withClient<T>(pool: pg.Pool, fn: (client: pg.PoolClient, broke: (err: Error) => void) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  // pg-pool listens for errors only on idle clients: a checked-out one whose connection dies (a server
  // restart) emits 'error' with nobody listening, which would end the process
  const onError = (err: Error) => {
    broken = err;
  };
  client.on('error', onError);
  try {
    return await fn(client, onError);
  } catch (e) {
    // a connection the server closed (restart, admin shutdown) must not go back to the pool
    if (isStoreUnavailable(e)) broken ??= e as Error;
    throw e;
  } finally {
    client.off('error', onError);
    client.release(broken);
  }
}

/**
 * Run `fn` in a transaction on one pooled client: committed unless it returns null (rolled back) or throws.
 * With `guard` (the web's writes), the COMMIT is sent only within the caller's store deadline and marked
 * in flight (`committing`), so a 503 never answers for something that is then committed.
 */
export async function transaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T | null>, guard?: string): Promise<T | null> {
  return withClient(pool, async (client, broke) => {
    try {
      await client.query('BEGIN');
      const result = await fn(client);
      if (result === null) await client.query('ROLLBACK');
      else if (guard === undefined) await client.query('COMMIT');
      else {
        assertWithinDeadline(guard);
        await committing(client.query('COMMIT'));
      }
      return result;
    } catch (e) {
      if (!isStoreUnavailable(e)) await client.query('ROLLBACK').catch(broke);
      throw e;
    }
  });
}
