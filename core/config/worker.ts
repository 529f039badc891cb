// Worker processes: which queues they consume and how they hold and give back jobs.
import { z } from 'zod';
import { int, jsonArray } from './fields.ts';
import { defineSection } from './section.ts';

/** `email:5,default:10` → { email: 5, default: 10 }; `*` → every queue at its catalog concurrency. */
export const workerQueues = z
  .string()
  .regex(/^(\*|[a-z][a-z0-9_-]*(:\d+)?)(,(\*|[a-z][a-z0-9_-]*(:\d+)?))*$/, {
    error: 'expects `*` or a comma list of queue[:concurrency], e.g. `email:5,default:10`',
  })
  .transform((raw) => {
    const out: Record<string, number | undefined> = {};
    for (const part of raw.split(',')) {
      const [name, n] = part.split(':');
      out[name as string] = n === undefined ? undefined : Number(n);
    }
    return out;
  });

/** `1:4`: replica bounds of a process type */
const replicas = z
  .string()
  .regex(/^\d{1,3}:\d{1,3}$/, { error: 'expects min:max, e.g. 1:4' })
  .transform((raw) => {
    const [min, max] = raw.split(':').map(Number) as [number, number];
    return { min, max };
  })
  .refine((r) => r.max >= 1 && r.min <= r.max, { error: 'expects 0 <= min <= max and max >= 1' });

/** One worker process type (a Procfile line, a Deployment): its queues and its replica bounds. */
const processType = z.strictObject({
  name: z.string().regex(/^worker_[a-z0-9_]{1,40}$/, { error: 'expects worker_<name> (lowercase letters, digits, _)' }),
  /** like WORKER_QUEUES; `*` here means every queue no other type names */
  queues: workerQueues,
  replicas: replicas.default({ min: 1, max: 10 }),
});
export type ProcessTypeConfig = z.infer<typeof processType>;

/** The production split (docs/scaling.md): each heavy queue on its own process type, the rest with email. */
export const DEFAULT_PROCESS_TYPES = JSON.stringify([
  { name: 'worker_email', queues: 'email,*' },
  { name: 'worker_reports', queues: 'reports' },
  { name: 'worker_search', queues: 'search' },
]);

interface WorkerChecked {
  WORKER_PROCESS_TYPES: ProcessTypeConfig[];
  WORKER_PROCESS_TYPE?: string;
  WORKER_QUEUES_GIVEN?: boolean;
}

const checks = [
  {
    variable: 'WORKER_PROCESS_TYPE' as const,
    reads: ['WORKER_PROCESS_TYPE', 'WORKER_PROCESS_TYPES'] as ('WORKER_PROCESS_TYPE' | 'WORKER_PROCESS_TYPES')[],
    problem: (c: WorkerChecked) => {
      const names = c.WORKER_PROCESS_TYPES.map((t) => t.name);
      if (c.WORKER_PROCESS_TYPE && !names.includes(c.WORKER_PROCESS_TYPE))
        return `names no type of WORKER_PROCESS_TYPES (${names.join(', ')})`;
      if (c.WORKER_PROCESS_TYPE && c.WORKER_QUEUES_GIVEN) return 'takes its queues from WORKER_PROCESS_TYPES: leave WORKER_QUEUES unset';
      return undefined;
    },
  },
  {
    variable: 'WORKER_PROCESS_TYPES' as const,
    reads: ['WORKER_PROCESS_TYPES'] as 'WORKER_PROCESS_TYPES'[],
    problem: (c: WorkerChecked) => {
      const names = c.WORKER_PROCESS_TYPES.map((t) => t.name);
      const twice = names.find((n, i) => names.indexOf(n) !== i);
      return twice ? `names ${twice} twice` : undefined;
    },
  },
];

function derive(values: Record<string, unknown>, input: Record<string, string>) {
  values.WORKER_QUEUES_GIVEN = input.WORKER_QUEUES !== undefined;
}

/**
 * Once the catalog is known (workers/config.ts loadConfig): a type's `*` becomes every queue of
 * `queueNames` no other type names, and with WORKER_PROCESS_TYPE the worker serves that type's queues
 * (as if WORKER_QUEUES said them).
 */
export function resolveProcessTypes<
  C extends { WORKER_PROCESS_TYPES: ProcessTypeConfig[]; WORKER_PROCESS_TYPE?: string; WORKER_QUEUES: Record<string, number | undefined> },
>(config: C, queueNames: readonly string[]): C {
  const types = config.WORKER_PROCESS_TYPES.map((t) => {
    if (!Object.hasOwn(t.queues, '*')) return t;
    const named = new Set(config.WORKER_PROCESS_TYPES.filter((o) => o !== t).flatMap((o) => Object.keys(o.queues)));
    const { '*': _all, ...own } = t.queues;
    for (const q of queueNames) if (!named.has(q)) own[q] ??= undefined;
    return { ...t, queues: own };
  });
  const mine = types.find((t) => t.name === config.WORKER_PROCESS_TYPE);
  const given = (config as { WORKER_QUEUES_GIVEN?: boolean }).WORKER_QUEUES_GIVEN;
  return { ...config, WORKER_PROCESS_TYPES: types, ...(mine && !given ? { WORKER_QUEUES: { ...mine.queues } } : {}) };
}

export const workerSection = defineSection(
  'worker',
  {
    WORKER_QUEUES: workerQueues.default({ '*': undefined }),
    /** the worker process types this deployment scales apart (GET /v1/scaling answers for each, and `worker`) */
    WORKER_PROCESS_TYPES: jsonArray(processType, '{name, queues, replicas}').prefault(DEFAULT_PROCESS_TYPES),
    /** which of them this worker process is (a Procfile line sets it); unset: `worker`, WORKER_QUEUES */
    WORKER_PROCESS_TYPE: z.string().min(1).optional(),
    /** also bounds every process's whole shutdown (core/lifecycle.ts) */
    WORKER_SHUTDOWN_GRACE_MS: int(0, 600_000).default(25_000),
    WORKER_LOCK_DURATION_MS: int(1000).default(30_000),
    WORKER_STALLED_INTERVAL_MS: int(1000).default(30_000),
    WORKER_MAX_STALLED_COUNT: int(0, 100).default(2),
    /** a waiting job's priority rises by one (toward 1) per this many seconds waited; 0 = strict priorities */
    PRIORITY_AGING_SECONDS: int(0, 86_400).default(60),
  },
  checks as never,
  derive,
);
