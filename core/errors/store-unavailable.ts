// The queue store cannot be reached (down, restarting, too slow): the web answers 503 + Retry-After, never
// 500, and never waits longer than its deadline (STORE_TIMEOUT_MS). `isStoreUnavailable` recognises the
// errors Redis (ioredis) and PostgreSQL (pg, pg-boss) give for that; `withStoreDeadline` bounds every
// store call of an engine. `assertWithinDeadline` lets an engine refuse to commit a write once the caller's
// deadline passed (the caller has answered 503 by then: nothing may be stored after that), and
// `committing` marks the write itself in flight: a deadline that passes while the store is committing
// waits for its answer (up to half the deadline again) instead of answering 503 for a job that is then
// stored. What is left is a store that dies mid-commit, or one slower than that grace: 503 and the job
// may exist (docs/reliability.md); a keyed retry finds it.
import { AsyncLocalStorage } from 'node:async_hooks';

/** one bounded store call: its deadline and how many writes it has in flight (nested calls chain up) */
export interface Call {
  at: number;
  writing: number;
  parent: Call | undefined;
}

/** the store call running in this async context, when it has a deadline */
const deadlines = new AsyncLocalStorage<Call>();

/** A store call that failed because the store is unreachable or did not answer within the deadline. */
export class StoreUnavailableError extends Error {
  override name = 'StoreUnavailableError';
  constructor(
    message: string,
    override readonly cause?: unknown,
  ) {
    super(message);
  }
}

/**
 * SQLSTATE classes and codes of an unreachable or restarting server: 08 connection exception, 57P01
 * admin_shutdown, 57P02 crash_shutdown, 57P03 cannot_connect_now, 53300 too_many_connections, 57014
 * query_canceled (statement_timeout).
 */
const PG_CODES = /^(08\d{3}|57P0[1-3]|53300|57014)$/;
/** errno codes of a socket that cannot connect or broke */
const NET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);
/** what ioredis, pg and pg-pool say when the connection is not there (messages, as they have no codes) */
const MESSAGES =
  /Connection is closed|Stream isn't writeable|max retries per request|MaxRetriesPerRequest|Command timed out|ECONNREFUSED|ETIMEDOUT|ECONNRESET|Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|terminating connection|the database system is (starting up|shutting down|in recovery mode)|Query read timeout|connection timeout|LOADING Redis is loading|READONLY You can't write|Client was closed/i;

/** True when `err` (or what it wraps) says the store is unreachable, restarting or too slow. */
export function isStoreUnavailable(err: unknown, depth = 0): boolean {
  if (!err || typeof err !== 'object' || depth > 3) return false;
  if (err instanceof StoreUnavailableError) return true;
  const e = err as { code?: unknown; message?: unknown; cause?: unknown; errors?: unknown };
  if (typeof e.code === 'string' && (PG_CODES.test(e.code) || NET_CODES.has(e.code))) return true;
  if (typeof e.message === 'string' && MESSAGES.test(e.message)) return true;
  if (Array.isArray(e.errors) && e.errors.some((x) => isStoreUnavailable(x, depth + 1))) return true; // AggregateError
  return isStoreUnavailable(e.cause, depth + 1);
}

/**
 * `work`, or a StoreUnavailableError after `ms` (the call may still finish later: its result is dropped).
 * When `call` has a write in flight (`committing`) as the deadline passes, its answer is awaited up to
 * `ms / 2` more: the caller then learns whether it was stored.
 */
export async function deadline<T>(work: Promise<T>, ms: number, what: string, call?: Call): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      if (!call || call.writing === 0) {
        reject(new StoreUnavailableError(`${what}: the queue store did not answer within ${ms} ms`));
        return;
      }
      const grace = Math.ceil(ms / 2);
      timer = setTimeout(
        () => reject(new StoreUnavailableError(`${what}: a write was sent but not confirmed within ${ms + grace} ms; it may be stored`)),
        grace,
      );
    }, ms);
  });
  try {
    return await Promise.race([work, late]);
  } catch (err) {
    if (err instanceof StoreUnavailableError || !isStoreUnavailable(err)) throw err;
    throw new StoreUnavailableError(`${what}: ${(err as Error).message}`, err);
  } finally {
    clearTimeout(timer);
    work.catch(() => {}); // a late rejection of an abandoned call is not unhandled
  }
}

/** `target` with every method that returns a promise bounded by `ms` (the web's view of its store). */
export function withStoreDeadline<T extends object>(target: T, ms: number, label: string): T {
  return new Proxy(target, {
    get(obj, prop, receiver) {
      const value = Reflect.get(obj, prop, receiver);
      if (typeof value !== 'function' || prop === 'close' || prop === 'consume') return value;
      return (...args: unknown[]) => {
        const call: Call = { at: Date.now() + ms, writing: 0, parent: deadlines.getStore() };
        const out = deadlines.run(call, () => (value as (...a: unknown[]) => unknown).apply(obj, args));
        return out instanceof Promise ? deadline(out, ms, `${label}.${String(prop)}`, call) : out;
      };
    },
  });
}

/** Milliseconds left of the current store call's deadline (Infinity without one). */
export function deadlineLeftMs(): number {
  const call = deadlines.getStore();
  return call === undefined ? Number.POSITIVE_INFINITY : call.at - Date.now();
}

/**
 * Throws StoreUnavailableError when the store call running here is past its deadline: an engine calls it
 * just before its one atomic write, so a request answered 503 never stores anything afterwards.
 */
export function assertWithinDeadline(what: string): void {
  if (deadlineLeftMs() <= 0) throw new StoreUnavailableError(`${what}: past the store deadline, nothing written`);
}

/**
 * Mark `write` (the one atomic write of a store call, sent right after `assertWithinDeadline` with no await
 * between) as in flight: the deadlines of this call and of the calls around it wait for its answer.
 */
export function committing<T>(write: Promise<T>): Promise<T> {
  const calls: Call[] = [];
  for (let c = deadlines.getStore(); c; c = c.parent) calls.push(c);
  for (const c of calls) c.writing++;
  return write.finally(() => {
    for (const c of calls) c.writing--;
  });
}
