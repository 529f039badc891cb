// A job domain's manifest: everything one folder (workers/<domain>/index.ts) adds to the platform.
// workers/domains.ts lists the manifests; the catalog, handler registry, routes, readiness checks,
// release steps, built-in schedules, rate limits and dashboard sources are all assembled from that list.
//
// A manifest is light: kinds and queues are values (producers import them to validate), schedules and
// rate limits are functions of config; every other part is a loader (`() => import(...)`), so importing
// the catalog loads no handler, route or driver code.
import type { z } from 'zod';
import type { Backend } from './backend.ts';
import type { ConfigSection, KernelConfig, SectionValues } from './config/index.ts';
import type { HandlerDeps, HandlerSet, HandlersFor } from './handler.ts';
import type { RouteTable } from './http/route.ts';
import type { JobDefinition, QueueDefinition } from './kinds.ts';
import type { ReadinessCheck } from './readiness.ts';
import type { ReleaseTask } from './release.ts';

export type Load<T> = () => Promise<T>;

export interface RateLimit {
  max: number;
  durationMs: number;
}

/** A schedule declared in code; the scheduler applies SCHEDULES_OVERRIDES / SCHEDULES_DISABLED on top. */
export interface DeclaredSchedule {
  name: string;
  description: string;
  cron: string;
  job: { name: string; data: Record<string, unknown> };
  misfire: 'skip' | 'once' | 'all';
  /**
   * Set when this deployment cannot run the schedule (e.g. its database is not configured): the name is
   * still known, so SCHEDULES_DISABLED / SCHEDULES_OVERRIDES may name it, but it is never fired or listed.
   */
  unavailable?: string;
}

export interface TemplatePreview {
  subject: string;
  html: string;
  text?: string;
}

export interface CaughtMail {
  id: string;
  to: string;
  subject: string;
  at: string;
  html?: string;
  text?: string;
}

/** What the dashboard's Templates and Mail pages read. */
export interface EmailSource {
  listTemplates(): Promise<string[]> | string[];
  /** renders a template with the given vars, or its sample vars when none are given */
  renderPreview(name: string, vars?: Record<string, unknown>): Promise<TemplatePreview>;
  /** sample vars for the form; optional */
  sampleVars?(name: string): Promise<Record<string, unknown>> | Record<string, unknown>;
  /** development mail catcher; absent in production */
  listCaughtMail?(): Promise<CaughtMail[]>;
}

/** Sources a domain offers the dashboard's pages. */
export interface DashboardSources {
  email?: EmailSource;
}

export interface DashboardDeps<C extends KernelConfig = KernelConfig> {
  config: C;
  /** the queue engine and the side stores (caught mail lives in one) */
  backend: Backend;
}

/** What a domain's code reads: the kernel's settings and its own section's. */
export type DomainConfig<S extends z.ZodRawShape> = KernelConfig & Values<S>;
type Values<S extends z.ZodRawShape> = keyof S extends never ? unknown : SectionValues<S>;

export interface DomainManifest<
  K extends Record<string, JobDefinition> = Record<string, JobDefinition>,
  Q extends Record<string, QueueDefinition> = Record<string, QueueDefinition>,
  S extends z.ZodRawShape = Record<never, never>,
> {
  /** the folder name under workers/ */
  name: string;
  /** the domain's doc, from the repository root */
  doc: string;
  /** its settings (workers/<domain>/config.ts); workers/config.ts reads every domain's. The parts below
   *  are typed with the kernel's settings plus these (NoInfer: only this property decides them). */
  config?: ConfigSection<S, any>;
  kinds: K;
  queues: Q;
  /** the handlers, loaded and built when a worker starts (undefined: this domain has none) */
  handlers?: (deps: HandlerDeps<NoInfer<DomainConfig<S>>>) => Promise<HandlerSet<HandlersFor<K>>>;
  /** its HTTP routes (public and authenticated), one table mounted and documented with the platform's */
  routes?: Load<RouteTable<NoInfer<DomainConfig<S>>>>;
  readiness?: Load<ReadinessCheck<NoInfer<DomainConfig<S>>>[]>;
  release?: Load<ReleaseTask<NoInfer<DomainConfig<S>>>[]>;
  schedules?: (config: NoInfer<DomainConfig<S>>) => DeclaredSchedule[];
  /** per-queue rate limits from config, over the queue definitions' own */
  rateLimits?: (config: NoInfer<DomainConfig<S>>) => { [N in keyof Q]?: RateLimit };
  dashboard?: (deps: DashboardDeps<NoInfer<DomainConfig<S>>>) => Promise<DashboardSources>;
}

/** A manifest of any kinds: what a list of domains holds. */
export type AnyDomain = DomainManifest<any, any, any>;

/** Keeps the manifest's precise kind, queue and config types (the catalog's types are computed from them). */
export function defineDomain<
  K extends Record<string, JobDefinition>,
  Q extends Record<string, QueueDefinition>,
  S extends z.ZodRawShape = Record<never, never>,
>(manifest: DomainManifest<K, Q, S>): DomainManifest<K, Q, S> {
  return manifest;
}

type KeysOfUnion<T> = T extends unknown ? keyof T : never;
/** `{ a: A } | { b: B }` → `{ a: A; b: B }` */
type Merge<U> = { [P in KeysOfUnion<U>]: U extends Record<P, infer V> ? V : never };

/** Every kind of a list of domains, by name. */
export type KindsOf<D extends readonly AnyDomain[]> = Merge<D[number]['kinds']>;
/** Every queue of a list of domains, by name. */
export type QueuesOf<D extends readonly AnyDomain[]> = Merge<D[number]['queues']>;

type Intersect<U> = (U extends unknown ? (u: U) => void : never) extends (i: infer I) => void ? I : never;
type SectionOf<M> = M extends { config?: ConfigSection<infer S, any> } ? (keyof S extends never ? never : SectionValues<S>) : never;
/** The settings of the kernel and every domain of a list: what a process built from the list reads. */
export type ConfigOf<D extends readonly AnyDomain[]> = KernelConfig & Intersect<SectionOf<D[number]>>;
