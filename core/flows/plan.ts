// A flow request (`POST /v1/flows`) checked all or nothing and turned into the flow the store keeps: every job
// validated like an enqueue (paths `jobs[i].data.x`), keys unique, `dependsOn` naming known keys, no cycle,
// and each job's id fixed now (`flow-<flow id>-<index>`). Catalog-agnostic: the caller hands in the checks.
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { EnqueueRequest } from '../engine.ts';
import { type JobOptions, jobOptionsSchema, type Validation, type ValidJob } from '../enqueue.ts';
import { type ErrorDetail, issuesToDetails } from '../validation.ts';
import { type DataFrom, dataFromProblems, dataFromSchema, filledLater } from './data-from.ts';
import type { FlowJobSpec, NewFlow, ParentPolicy } from './types.ts';

/** the most jobs one flow may hold (fan-out to 1,000 and back fits) */
export const MAX_FLOW_JOBS = 2_000;
export const POLICIES = ['fail', 'skip', 'continue'] as const satisfies readonly ParentPolicy[];

export const flowJobSchema = z.strictObject({
  key: z
    .string()
    .min(1)
    .max(100)
    .regex(/^[A-Za-z0-9_.:-]+$/, 'letters, digits and _ . : - only')
    .describe('unique within the flow; children name it in dependsOn'),
  name: z.string().describe('the job kind'),
  data: z.unknown().optional(),
  options: z.unknown().optional(),
  dependsOn: z
    .array(z.string())
    .max(MAX_FLOW_JOBS)
    .optional()
    .describe('keys of the jobs that must end first; the job starts once every one completed'),
  onParentFailure: z
    .enum(POLICIES)
    .optional()
    .describe(
      'a parent ended dead or cancelled: fail (default; this job and its descendants are cancelled), skip (run without it), continue (run and see its error)',
    ),
  dataFrom: dataFromSchema.optional(),
});
export const flowBodySchema = z.strictObject({ jobs: z.array(z.unknown()).min(1).max(MAX_FLOW_JOBS) });

export interface PlanDeps {
  /** validate `{ name, data, options }` as an enqueue would, paths under `prefix` */
  validate(job: unknown, prefix: string): Validation<string>;
  /** may the caller enqueue this kind */
  mayEnqueue(kind: string): boolean;
  /** the request an enqueue of `job` would make, under `jobId`, with the flow in its meta */
  request(job: ValidJob, jobId: string, flow: { id: string; key: string }): EnqueueRequest;
  now?: number;
}

export type Plan = { ok: true; flow: NewFlow } | { ok: false; status: 400 | 403; details: ErrorDetail[] };

const UNIQUE = ['idempotencyKey', 'singletonKey', 'throttle', 'debounce'] as const;
const uniqueOption = (o: JobOptions) => UNIQUE.find((k) => o[k] !== undefined);

interface Checked {
  key: string;
  job: ValidJob;
  dependsOn: string[];
  policy: ParentPolicy;
  dataFrom?: DataFrom;
}

/** Each item's own shape, options and payload; then the graph. */
export function planFlow(items: readonly unknown[], deps: PlanDeps): Plan {
  const details: ErrorDetail[] = [];
  const forbidden: ErrorDetail[] = [];
  const checked: Checked[] = [];
  items.forEach((item, i) => {
    const at = `jobs[${i}]`;
    const shape = flowJobSchema.safeParse(item);
    if (!shape.success) {
      details.push(...issuesToDetails(shape.error.issues, at));
      return;
    }
    const { key, name, data, options, dependsOn = [], onParentFailure = 'fail', dataFrom } = shape.data;
    const v = validated(deps, { name, data, options, dataFrom, dependsOn }, at);
    if (!v.ok) {
      details.push(...v.details);
      return;
    }
    const unique = uniqueOption(v.job.options);
    if (unique) {
      details.push({ path: `${at}.options.${unique}`, message: 'not accepted in a flow: the flow fixes each job’s id' });
      return;
    }
    if (!deps.mayEnqueue(v.job.name)) forbidden.push({ path: `${at}.name`, message: `may not enqueue ${v.job.name}` });
    checked.push({ key, job: v.job, dependsOn, policy: onParentFailure, ...(dataFrom ? { dataFrom } : {}) });
  });
  if (details.length === 0) details.push(...graphProblems(checked));
  if (details.length > 0) return { ok: false, status: 400, details: details.slice(0, 100) };
  if (forbidden.length > 0) return { ok: false, status: 403, details: forbidden.slice(0, 100) };
  return { ok: true, flow: buildFlow(checked, deps) };
}

/**
 * A job checked as an enqueue would check it. With `dataFrom`, the fields it names are filled at release, so
 * their problems wait until then (core/flows/data-from.ts); the job keeps the data as sent, parsed at release.
 */
function validated(
  deps: PlanDeps,
  j: { name: string; data: unknown; options: unknown; dataFrom?: DataFrom; dependsOn: string[] },
  at: string,
): Validation<string> {
  const v = deps.validate({ name: j.name, data: j.data, options: j.options }, at);
  if (!j.dataFrom) return v;
  const details = [...(v.ok ? [] : v.details.filter((d) => !filledLater(j.dataFrom as DataFrom, `${at}.data`)(d)))];
  details.push(...dataFromProblems(j.dataFrom, j.dependsOn, at));
  if (details.length > 0) return { ok: false, details };
  const options = jobOptionsSchema.safeParse(j.options ?? {});
  if (!options.success) return { ok: false, details: issuesToDetails(options.error.issues, `${at}.options`) };
  return { ok: true, job: { name: j.name, data: j.data ?? {}, options: options.data } };
}

/** Duplicate keys, unknown or repeated parents, and cycles, each named by the job's path. */
function graphProblems(jobs: Checked[]): ErrorDetail[] {
  const details: ErrorDetail[] = [];
  const index = new Map<string, number>();
  jobs.forEach((j, i) => {
    if (index.has(j.key)) details.push({ path: `jobs[${i}].key`, message: `duplicate key "${j.key}" (also jobs[${index.get(j.key)}])` });
    else index.set(j.key, i);
  });
  jobs.forEach((j, i) => {
    const seen = new Set<string>();
    for (const p of j.dependsOn) {
      if (p === j.key) details.push({ path: `jobs[${i}].dependsOn`, message: `"${p}" is this job itself` });
      else if (!index.has(p)) details.push({ path: `jobs[${i}].dependsOn`, message: `unknown key "${p}"` });
      else if (seen.has(p)) details.push({ path: `jobs[${i}].dependsOn`, message: `"${p}" is named twice` });
      seen.add(p);
    }
  });
  if (details.length > 0) return details;
  const cycle = findCycle(jobs, index);
  if (cycle) {
    const at = index.get(cycle[0] as string) as number;
    details.push({ path: `jobs[${at}].dependsOn`, message: `cycle: ${cycle.join(' → ')}` });
  }
  return details;
}

/** Kahn's algorithm; when jobs remain, walk parents from one of them until a key repeats. */
function findCycle(jobs: Checked[], index: Map<string, number>): string[] | null {
  const remaining = jobs.map((j) => j.dependsOn.length);
  const children = jobs.map(() => [] as number[]);
  jobs.forEach((j, i) => {
    for (const p of j.dependsOn) children[index.get(p) as number]?.push(i);
  });
  const ready = remaining.flatMap((n, i) => (n === 0 ? [i] : []));
  let done = 0;
  while (ready.length > 0) {
    const i = ready.pop() as number;
    done++;
    for (const c of children[i] ?? []) if (--(remaining[c] as number) === 0) ready.push(c);
  }
  if (done === jobs.length) return null;
  let at = remaining.findIndex((n) => n > 0);
  const path: number[] = [];
  const onPath = new Map<number, number>();
  while (!onPath.has(at)) {
    onPath.set(at, path.length);
    path.push(at);
    const job = jobs[at] as Checked;
    at = job.dependsOn.map((p) => index.get(p) as number).find((p) => (remaining[p] as number) > 0) as number;
  }
  const loop = path.slice(onPath.get(at));
  // parents were walked: show it in run order (a → b: b depends on a)
  return [...loop, at].reverse().map((i) => (jobs[i] as Checked).key);
}

function buildFlow(checked: Checked[], deps: PlanDeps): NewFlow {
  const id = randomUUID();
  const now = deps.now ?? Date.now();
  const children = new Map<string, string[]>(checked.map((j) => [j.key, []]));
  for (const j of checked) for (const p of j.dependsOn) children.get(p)?.push(j.key);
  const jobs: FlowJobSpec[] = checked.map((j, index) => {
    const jobId = `flow-${id}-${index}`;
    const runAt = j.job.options.runAt;
    return {
      key: j.key,
      index,
      id: jobId,
      name: j.job.name,
      parents: j.dependsOn,
      children: children.get(j.key) ?? [],
      policy: j.policy,
      request: deps.request(j.job, jobId, { id, key: j.key }),
      ...(j.dataFrom ? { dataFrom: j.dataFrom } : {}),
      ...(runAt !== undefined ? { runAtMs: Date.parse(runAt) } : {}),
    };
  });
  return { id, createdAt: now, jobs };
}
