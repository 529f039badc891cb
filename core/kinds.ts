// Shared types and the `job()` helper for each domain's kinds (workers/<domain>/kinds.ts).
import type { z } from 'zod';
import type { BackoffPolicy } from './backoff.ts';

export interface QueueDefinition {
  /** handlers run at once per worker process, unless WORKER_QUEUES says otherwise */
  concurrency: number;
  /** runs kinds declared without code (HTTP-target kinds, workers/http/): served even with no handler in code */
  declaredKinds?: boolean;
  /** at most `max` jobs per `durationMs` across all workers of this queue */
  rateLimit?: { max: number; durationMs: number };
  /** defaults for every group of this queue (options.group; docs/groups.md), under GROUP_LIMITS */
  groups?: { concurrency?: number; ratePerSecond?: number };
}

export interface JobDefaults {
  /** 1 (most urgent) … 10 */
  priority: number;
  /** total runs, first included */
  attempts: number;
  backoff: BackoffPolicy;
  timeoutMs: number;
  /**
   * Time budget for retries, in ms from the first failed attempt: a failing job retries until it is
   * spent (`attempts` still caps the runs, the backoff cap stretching to spread them over the budget).
   * Unset: attempts alone decide. A job's options.retryFor overrides it. docs/reliability.md
   */
  retryForMs?: number;
  /** overrides RETENTION_* for finished jobs of this kind */
  retention?: { completedSeconds?: number; failedSeconds?: number };
}

export interface JobDefinition<S extends z.ZodType = z.ZodType> {
  queue: string;
  description: string;
  payload: S;
  defaults: JobDefaults;
  /**
   * The group (docs/groups.md) a job of this kind gets when the caller names none (email: the recipient's domain).
   * `config` is the process's config (the kind reads its own section's variables).
   */
  group?: (payload: unknown, config: Readonly<Record<string, unknown>>) => string | undefined;
}

const baseDefaults: JobDefaults = {
  priority: 5,
  attempts: 5,
  backoff: { baseMs: 1000, capMs: 10 * 60_000, jitter: 'full' },
  timeoutMs: 60_000,
};

/**
 * What kernel services (metrics labels, the scaling signal) need to know of the catalog: its kind names
 * and queues. The layers above pass workers/catalog.ts's `catalogView` in; core never imports it.
 * `kinds` may change while the process runs (kinds declared at runtime): read it each time, do not keep it.
 */
export interface CatalogView {
  readonly kinds: readonly string[];
  queues: Readonly<Record<string, QueueDefinition>>;
}

/** Where an HTTP-target kind's jobs are POSTed (workers/http/, docs/http-kinds.md). */
export interface HttpTarget {
  url: string;
  /** the variable holding this kind's own `whsec_` secret; SIGNING_SECRET when unset */
  signingSecretEnv?: string;
  /** KINDS_FILE, or PUT /v1/kinds/:name */
  source: 'file' | 'runtime';
  /** requests in flight at once per worker process (unset: the queue's concurrency) */
  concurrency?: number;
  /** the payload's JSON Schema as declared (OpenAPI, GET /v1/kinds) */
  schema: Record<string, unknown>;
}

/** A kind of the catalog, or one declared without code (then `http` says where it runs). */
export interface KindDefinition<S extends z.ZodType = z.ZodType> extends JobDefinition<S> {
  http?: HttpTarget;
}

/**
 * Every job kind this process knows: the typed built-in catalog (fixed at import) plus kinds declared
 * without code, by source (KINDS_FILE; the runtime store, refreshed by a poller). A built-in name always
 * wins; declarations are refused a built-in name before they get here. Lookups are O(1) and every view
 * (`table`, `names`) is replaced, never mutated, on change, so a caller may hold one for one request.
 */
export class KindRegistry {
  private readonly sources = new Map<string, Readonly<Record<string, KindDefinition>>>();
  private merged: Readonly<Record<string, KindDefinition>>;
  private nameList: readonly string[];
  private listeners = new Set<() => void>();

  constructor(private readonly builtIn: Readonly<Record<string, JobDefinition>>) {
    this.merged = builtIn;
    this.nameList = Object.keys(builtIn);
  }

  /** name → definition, built-in and declared */
  get table(): Readonly<Record<string, KindDefinition>> {
    return this.merged;
  }

  get names(): readonly string[] {
    return this.nameList;
  }

  get(name: string): KindDefinition | undefined {
    return Object.hasOwn(this.merged, name) ? this.merged[name] : undefined;
  }

  isBuiltIn(name: string): boolean {
    return Object.hasOwn(this.builtIn, name);
  }

  /** the kinds declared without code, by name */
  declared(): [name: string, def: KindDefinition][] {
    return Object.entries(this.merged).filter(([n]) => !this.isBuiltIn(n));
  }

  /** Replace what `source` declares (an empty table removes it). */
  setSource(source: string, defs: Readonly<Record<string, KindDefinition>>): void {
    if (Object.keys(defs).length === 0) this.sources.delete(source);
    else this.sources.set(source, defs);
    const merged: Record<string, KindDefinition> = {};
    for (const table of this.sources.values()) Object.assign(merged, table);
    Object.assign(merged, this.builtIn);
    const changed =
      Object.keys(merged).length !== Object.keys(this.merged).length || Object.entries(merged).some(([n, d]) => this.merged[n] !== d);
    if (!changed) return;
    this.merged = merged;
    this.nameList = Object.keys(merged);
    for (const fn of this.listeners) fn();
  }

  /** called after every change */
  onChange(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }
}

/** What a handler of `D` receives: its payload with defaults applied. */
export type PayloadOf<D extends JobDefinition> = z.output<D['payload']>;

export function job<S extends z.ZodType, Q extends string>(def: {
  queue: Q;
  description: string;
  payload: S;
  defaults?: Partial<JobDefaults>;
  group?: (payload: z.output<S>, config: Readonly<Record<string, unknown>>) => string | undefined;
}): JobDefinition<S> & { queue: Q } {
  const { group, ...rest } = def;
  const out: JobDefinition<S> & { queue: Q } = { ...rest, defaults: { ...baseDefaults, ...def.defaults } };
  if (group) out.group = (payload, config) => group(payload as z.output<S>, config);
  return out;
}
