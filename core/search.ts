// Job search: the filter both engines answer (JobReads.search / count in core/stores.ts), parsed once from a
// query string (GET /v1/jobs, the dashboard's search box) or a JSON object (POST /v1/jobs/actions), and the
// opaque cursor. Syntax and cost per engine: docs/job-search.md.
import type { JobState, JobView } from './engine.ts';
import { ApiError } from './http/api-error.ts';
import type { CatalogView } from './kinds.ts';

export const JOB_STATES: readonly JobState[] = ['waiting', 'delayed', 'active', 'completed', 'failed', 'dead', 'cancelled'];
export const SEARCH_MAX_LIMIT = 500;
export const SEARCH_DEFAULT_LIMIT = 50;
/** at most this many `data.<path>` conditions, paths this deep, values this long */
export const DATA_MAX_FILTERS = 5;
const PATH_MAX_DEPTH = 5;
const VALUE_MAX_LENGTH = 200;

/** One payload condition: the field at `path` equals `value` (or, `prefix`, a string starting with it). */
export interface DataMatch {
  path: string[];
  value: string;
  prefix: boolean;
}

export interface JobFilter {
  /** never empty: the queues to look in (already narrowed to what the caller may see) */
  queues: string[];
  /** null: any kind; else only these (a scoped key's kinds, or the one asked for) */
  kinds: string[] | null;
  /** null: any state */
  states: JobState[] | null;
  /** created at or after (ms since epoch) */
  since: number | null;
  /** created before (ms since epoch) */
  until: number | null;
  data: DataMatch[];
}

export interface JobQuery extends JobFilter {
  limit: number;
  /** from a previous page's `next`; opaque to everyone but the engine that made it */
  cursor: string | null;
}

export interface JobPage {
  jobs: JobView[];
  /** null when there is nothing older to read */
  next: string | null;
}

/** What the caller asked for, before it is narrowed to what its key may see. */
export interface RequestedFilter {
  kind: string | null;
  queue: string | null;
  states: JobState[] | null;
  since: number | null;
  until: number | null;
  data: DataMatch[];
}

const bad = (path: string, message: string) =>
  new ApiError(400, 'invalid_request', `bad search parameter ${path}: ${message}`, [{ path, message }]);

function time(name: string, v: string): number {
  const ms = /^\d{1,15}$/.test(v) ? Number(v) : Date.parse(v);
  if (!Number.isFinite(ms)) throw bad(name, 'expects an ISO 8601 time or milliseconds since the epoch');
  return ms;
}

/** `data.to` `ada@*` → prefix match on `to`; `\*` at the end is a literal star. */
export function dataMatch(key: string, raw: string): DataMatch {
  const path = key.slice('data.'.length).split('.');
  if (path.length > PATH_MAX_DEPTH || path.some((p) => !/^[A-Za-z0-9_-]{1,64}$/.test(p))) {
    throw bad(key, `expects data.<field>[.<field>…]: up to ${PATH_MAX_DEPTH} names of letters, digits, _ or -`);
  }
  if (raw.length > VALUE_MAX_LENGTH) throw bad(key, `value longer than ${VALUE_MAX_LENGTH} characters`);
  // Postgres' jsonpath has no NUL, and a lone surrogate is no text at all
  if (raw.includes('\u0000') || !raw.isWellFormed()) throw bad(key, 'NUL or a lone surrogate is not text to search for');
  if (raw.endsWith('\\*')) return { path, value: `${raw.slice(0, -2)}*`, prefix: false };
  if (raw.endsWith('*')) {
    if (raw.length === 1) throw bad(key, 'a prefix needs at least one character before the *');
    return { path, value: raw.slice(0, -1), prefix: true };
  }
  return { path, value: raw, prefix: false };
}

const KNOWN = new Set(['kind', 'queue', 'state', 'group', 'since', 'until', 'limit', 'cursor']);

/**
 * The filter of a query string or of a JSON object of the same fields (`state` may be a list or comma
 * separated, `data` an object of path → value in JSON). Throws a 400 naming the parameter.
 */
export function parseFilter(input: Record<string, unknown>, catalog: CatalogView, where = ''): RequestedFilter {
  const name = (k: string) => (where ? `${where}.${k}` : k);
  const str = (k: string): string | null => {
    const v = input[k];
    if (v === undefined || v === '') return null;
    if (typeof v !== 'string') throw bad(name(k), 'expects one string');
    return v;
  };
  const out: RequestedFilter = { kind: null, queue: null, states: null, since: null, until: null, data: [] };
  for (const k of Object.keys(input)) {
    if (!KNOWN.has(k) && !k.startsWith('data.') && !(k === 'data' && where)) throw bad(name(k), 'unknown parameter');
  }
  if (input.group !== undefined) throw bad(name('group'), 'jobs have no group yet (issue 11); filter by a payload field instead');
  out.kind = str('kind');
  if (out.kind !== null && !catalog.kinds.includes(out.kind))
    throw bad(name('kind'), `unknown job kind; known: ${catalog.kinds.join(', ')}`);
  out.queue = str('queue');
  if (out.queue !== null && !Object.hasOwn(catalog.queues, out.queue)) {
    throw bad(name('queue'), `unknown queue; known: ${Object.keys(catalog.queues).join(', ')}`);
  }
  const states = input.state;
  if (states !== undefined && states !== '') {
    const list = (Array.isArray(states) ? states : [states]).flatMap((s) => (typeof s === 'string' ? s.split(',') : [s]));
    for (const s of list)
      if (!JOB_STATES.includes(s as JobState)) throw bad(name('state'), `expects one or more of ${JOB_STATES.join(', ')}`);
    out.states = [...new Set(list as JobState[])];
  }
  const since = str('since');
  const until = str('until');
  out.since = since === null ? null : time(name('since'), since);
  out.until = until === null ? null : time(name('until'), until);
  if (out.since !== null && out.until !== null && out.since >= out.until) throw bad(name('until'), 'must be after since');
  const data: [string, unknown][] = Object.entries(input).filter(([k]) => k.startsWith('data.'));
  if (where && input.data !== undefined) {
    if (!input.data || typeof input.data !== 'object' || Array.isArray(input.data))
      throw bad(name('data'), 'expects an object of path → value');
    data.push(...Object.entries(input.data as Record<string, unknown>).map(([k, v]) => [`data.${k}`, v] as [string, unknown]));
  }
  if (data.length > DATA_MAX_FILTERS) throw bad(name('data'), `at most ${DATA_MAX_FILTERS} payload conditions`);
  for (const [k, v] of data) {
    if (typeof v !== 'string') throw bad(name(k), 'expects one string value');
    out.data.push(dataMatch(k, v));
  }
  return out;
}

/** The page size and cursor of a query string. */
export function parsePaging(input: Record<string, unknown>): { limit: number; cursor: string | null } {
  const l = input.limit;
  let limit = SEARCH_DEFAULT_LIMIT;
  if (l !== undefined && l !== '') {
    if (typeof l !== 'string' || !/^\d{1,4}$/.test(l) || Number(l) < 1 || Number(l) > SEARCH_MAX_LIMIT) {
      throw bad('limit', `expects an integer from 1 to ${SEARCH_MAX_LIMIT}`);
    }
    limit = Number(l);
  }
  const c = input.cursor;
  if (c !== undefined && (typeof c !== 'string' || !/^[A-Za-z0-9_-]{1,400}$/.test(c))) throw bad('cursor', 'not a cursor this API gave');
  return { limit, cursor: typeof c === 'string' && c ? c : null };
}

// ── cursor ──────────────────────────────────────────────────────────────────────────────────

/** The engine's position (a sort key and the job id) as an opaque URL-safe string. */
export const encodeCursor = (key: string, id: string) => Buffer.from(JSON.stringify([key, id])).toString('base64url');

export const badCursor = () => bad('cursor', 'not a cursor this API gave');

/** The position in a cursor, or a 400 naming `cursor` when it was not one of ours. */
export function decodeCursor(cursor: string): { key: string; id: string } {
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(v) && v.length === 2 && typeof v[0] === 'string' && typeof v[1] === 'string') return { key: v[0], id: v[1] };
  } catch {}
  throw badCursor();
}

// ── matching in memory (the reference both engines agree with; used on Redis after the index) ────

function scalarMatches(v: unknown, m: DataMatch): boolean {
  if (typeof v === 'string') return m.prefix ? v.startsWith(m.value) : v === m.value;
  if (m.prefix) return false;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v) === m.value;
  return v === null && m.value === 'null';
}

/** Does the payload match? Arrays match when any element does, at every step of the path. */
export function payloadMatches(data: unknown, m: DataMatch, i = 0): boolean {
  if (Array.isArray(data)) return data.some((d) => payloadMatches(d, m, i));
  if (i === m.path.length) return scalarMatches(data, m);
  if (!data || typeof data !== 'object') return false;
  const key = m.path[i] as string;
  return Object.hasOwn(data, key) && payloadMatches((data as Record<string, unknown>)[key], m, i + 1);
}

// ── scope ───────────────────────────────────────────────────────────────────────────────────

export interface SearchScope {
  /** may see every job of `queue`, whatever its kind */
  queue(queue: string): boolean;
  /** may see jobs of `kind` (which runs on `queue`) */
  kind(kind: string, queue: string): boolean;
}

/**
 * The filter narrowed to what `scope` may see: a kind or queue it may not see is a 403; without one, only
 * the queues and kinds it may see are searched. `queueOf` names each catalog kind's queue.
 */
export function narrow(req: RequestedFilter, catalog: CatalogView, queueOf: (kind: string) => string, scope: SearchScope): JobFilter {
  const base = { states: req.states, since: req.since, until: req.until, data: req.data };
  const forbidden = (what: string) => new ApiError(403, 'forbidden', `this key may not see ${what}`);
  const allowedKinds = catalog.kinds.filter((k) => scope.kind(k, queueOf(k)));
  if (req.kind) {
    if (!scope.kind(req.kind, queueOf(req.kind))) throw forbidden(`${req.kind} jobs`);
    return { ...base, kinds: [req.kind], queues: [req.queue ?? queueOf(req.kind)] };
  }
  const queues = req.queue ? [req.queue] : Object.keys(catalog.queues);
  const visible = queues.filter((q) => scope.queue(q) || allowedKinds.some((k) => queueOf(k) === q));
  if (visible.length === 0) throw forbidden(req.queue ? `jobs of queue ${req.queue}` : 'any jobs');
  const whole = visible.every((q) => scope.queue(q));
  return { ...base, queues: visible, kinds: whole ? null : allowedKinds.filter((k) => visible.includes(queueOf(k))) };
}
