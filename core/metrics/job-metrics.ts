// Per-process job metrics (prom-client): what this process's workers ran and what its producers
// enqueued. Label values are bounded: `kind` is a catalog job kind (or `unknown`), `queue` a catalog queue
// (the catalog is passed in: labelsOf).
// Queue-wide numbers (depth, latency, throughput across all workers) come from the store at scrape time
// instead (see http.ts), so they are right however many processes run.
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { ConsumedJob } from '../engine.ts';
import type { RuntimeHooks } from '../handler.ts';
import type { CatalogView } from '../kinds.ts';
import type { ThroughputRecorder } from './throughput.ts';

/** One registry per process, shared by the web app and the workers of an `all` process. */
export const processRegistry = new Registry();
collectDefaultMetrics({ register: processRegistry });

/** Label values bounded by `catalog`: a name it does not know is `unknown`. */
export function labelsOf(catalog: CatalogView) {
  // kinds declared at runtime join the catalog's list: rebuild the set when the list is replaced
  let list = catalog.kinds;
  let kinds = new Set<unknown>(list);
  const queues = new Set<unknown>(Object.keys(catalog.queues));
  return {
    kind: (name: unknown) => {
      if (catalog.kinds !== list) {
        list = catalog.kinds;
        kinds = new Set<unknown>(list);
      }
      return kinds.has(name) ? (name as string) : 'unknown';
    },
    queue: (name: unknown) => (queues.has(name) ? (name as string) : 'unknown'),
  };
}

const byKind = ['kind', 'queue'] as const;

export const jobMetrics = {
  processed: new Counter({
    name: 'conveyor_jobs_processed_total',
    help: 'Job runs that completed, by kind',
    labelNames: byKind,
    registers: [processRegistry],
  }),
  failed: new Counter({
    name: 'conveyor_jobs_failed_total',
    help: 'Job runs that failed (each failed attempt), by kind',
    labelNames: byKind,
    registers: [processRegistry],
  }),
  retried: new Counter({
    name: 'conveyor_jobs_retried_total',
    help: 'Failed runs that will be retried, by kind',
    labelNames: byKind,
    registers: [processRegistry],
  }),
  deadLettered: new Counter({
    name: 'conveyor_jobs_dead_lettered_total',
    help: 'Jobs moved to the dead-letter queue (permanent error or attempts exhausted), by kind',
    labelNames: byKind,
    registers: [processRegistry],
  }),
  cancelled: new Counter({
    name: 'conveyor_jobs_cancelled_total',
    help: 'Running jobs stopped by a cancel request, by kind',
    labelNames: byKind,
    registers: [processRegistry],
  }),
  duration: new Histogram({
    name: 'conveyor_job_duration_seconds',
    help: 'Handler run time, by kind and outcome (completed | failed)',
    labelNames: [...byKind, 'outcome'],
    buckets: [0.005, 0.025, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900],
    registers: [processRegistry],
  }),
  running: new Gauge({
    name: 'conveyor_jobs_running',
    help: 'Jobs running in this process now, by queue',
    labelNames: ['queue'],
    registers: [processRegistry],
  }),
  enqueued: new Counter({
    name: 'conveyor_jobs_enqueued_total',
    help: 'Jobs accepted by the HTTP API, by kind; outcome=existing when an idempotency key matched',
    labelNames: [...byKind, 'outcome'],
    registers: [processRegistry],
  }),
};

/** RuntimeHooks that count and time every run, and feed the shared throughput counter. */
export function metricsHooks(catalog: CatalogView, throughput?: ThroughputRecorder): RuntimeHooks {
  const label = labelsOf(catalog);
  // Labelled children are looked up once per (queue, kind), not hashed from label objects on every run.
  type Children = ReturnType<typeof childrenFor>;
  const childrenFor = (kind: string, queue: string) => ({
    processed: jobMetrics.processed.labels(kind, queue),
    failed: jobMetrics.failed.labels(kind, queue),
    retried: jobMetrics.retried.labels(kind, queue),
    deadLettered: jobMetrics.deadLettered.labels(kind, queue),
    cancelled: jobMetrics.cancelled.labels(kind, queue),
    completedIn: jobMetrics.duration.labels(kind, queue, 'completed'),
    failedIn: jobMetrics.duration.labels(kind, queue, 'failed'),
    running: jobMetrics.running.labels(queue),
  });
  const cache = new Map<string, Map<string, Children>>();
  const children = (job: ConsumedJob): Children => {
    let byName = cache.get(job.queue);
    if (!byName) {
      byName = new Map();
      cache.set(job.queue, byName);
    }
    let c = byName.get(job.name);
    if (!c) {
      c = childrenFor(label.kind(job.name), label.queue(job.queue));
      byName.set(job.name, c);
    }
    return c;
  };
  return {
    onStart(job) {
      children(job).running.inc();
    },
    onOutcome(job, outcome, durationMs) {
      const c = children(job);
      c.running.dec();
      throughput?.record(job.queue, { failed: outcome.status === 'retry' || outcome.status === 'dead', runMs: durationMs });
      if (outcome.status === 'completed') {
        c.completedIn.observe(durationMs / 1000);
        c.processed.inc();
        return;
      }
      c.failedIn.observe(durationMs / 1000);
      c.failed.inc();
      if (outcome.status === 'cancelled') c.cancelled.inc();
      else if (outcome.status === 'dead') c.deadLettered.inc();
      else c.retried.inc();
    },
  };
}

/** Several hook sets as one (metrics + tracing). */
export function combineHooks(...sets: RuntimeHooks[]): RuntimeHooks {
  const arounds = sets.map((s) => s.around).filter((a): a is NonNullable<RuntimeHooks['around']> => a !== undefined);
  return {
    onStart: (job) => {
      for (const s of sets) s.onStart?.(job);
    },
    onOutcome: (job, outcome, ms) => {
      for (const s of sets) s.onOutcome?.(job, outcome, ms);
    },
    around:
      arounds.length === 0 ? undefined : (job, run) => arounds.reduceRight<() => Promise<unknown>>((next, a) => () => a(job, next), run)(),
  };
}
