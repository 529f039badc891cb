// Uniqueness options on enqueue, the same on every engine (docs/uniqueness.md). Both map a job onto a
// deterministic job id, which every engine collapses into one job (EnqueueRequest.jobId), so concurrent
// enqueues and a retried request after a crash never make two:
// - `singletonKey`: at most one job with this key waiting, delayed or active per kind. Its current job is
//   `uniq-<hash>-<generation>`; a generation counter per key (backend.generations) moves on once that job
//   is final (completed, dead, cancelled), and the next enqueue makes a new one. While it is not final, an
//   enqueue answers with it (created: false).
// - `throttle: { key, ms }`: at most one job per key per fixed window of `ms` (by the clock of the process
//   that enqueues); extras in the window answer with the window's job, whatever its state.
import { createHash } from 'node:crypto';
import type { Backend } from './backend.ts';
import { type EnqueueRequest, type EnqueueResult, FINAL_STATES } from './engine.ts';
import { enqueueGrouped } from './groups/enqueue.ts';
import type { GroupStore } from './groups/types.ts';

/** what an enqueue with uniqueness needs of the backend */
export type UniqueBackend = Pick<Backend, 'engine' | 'generations'> & { groups?: GroupStore };

export interface UniqueOptions {
  singletonKey?: string;
  throttle?: { key: string; ms: number };
  debounce?: { key: string; ms: number };
}

/** singleton generations outlive any job retention: 30 days after the key's last new job */
export const SINGLETON_TTL_SECONDS = 30 * 86_400;

const hashOf = (kind: string, key: string) => createHash('sha256').update(`${kind}\0${key}`).digest('hex').slice(0, 32);

export const singletonJobId = (kind: string, key: string, generation: number) => `uniq-${hashOf(kind, key)}-${generation}`;
export const debounceJobId = (kind: string, key: string, generation: number) => `deb-${hashOf(kind, key)}-${generation}`;
export const throttleJobId = (kind: string, key: string, windowStart: number) => `thr-${hashOf(kind, key)}-${windowStart}`;

/** Enqueue `req` honouring `opts`: straight to the engine when it asks for no uniqueness. */
export async function enqueueUnique(
  backend: UniqueBackend,
  req: EnqueueRequest,
  opts: UniqueOptions,
  now = Date.now(),
): Promise<EnqueueResult> {
  const { engine, groups } = backend;
  // a grouped job (options.group) is created parked and released by its group's limits (core/groups/)
  const group = req.meta?.group;
  const put = (r: EnqueueRequest) =>
    group === undefined || !groups ? engine.enqueue(r) : enqueueGrouped(groups, (x) => engine.enqueue(x), r, group);
  if (opts.throttle) {
    const { key, ms } = opts.throttle;
    return put({ ...req, jobId: throttleJobId(req.name, key, now - (now % ms)) });
  }
  if (opts.debounce) return debounced(backend, req, opts.debounce);
  if (opts.singletonKey === undefined) return put(req);
  const key = opts.singletonKey;
  return generational(backend, req.name, key, async (gen) => {
    const id = singletonJobId(req.name, key, gen);
    const current = await engine.getJob(id);
    if (current && FINAL_STATES.has(current.state)) return undefined;
    // not there yet (another enqueue is making it, or one died before it could): this makes it or joins it
    return put({ ...req, jobId: id });
  });
}

/**
 * `debounce: { key, ms }`: the key's current job is delayed by `ms`; a repeat while it is still delayed
 * gives it the repeat's payload and pushes its run time to `ms` from now (last payload wins). Once it came
 * due, started or finished, the next repeat makes a new job.
 */
function debounced(backend: UniqueBackend, req: EnqueueRequest, { key, ms }: { key: string; ms: number }) {
  const { engine } = backend;
  return generational(backend, req.name, key, async (gen) => {
    const next = { ...req, jobId: debounceJobId(req.name, key, gen), delayMs: ms };
    const current = await engine.getJob(next.jobId);
    if (!current) return engine.enqueue(next);
    if (current.state !== 'delayed') return undefined;
    const replaced = await engine.replaceDelayed(next);
    return replaced ? { job: replaced, created: false } : undefined;
  });
}

/** Run `attempt` on the key's current generation; when it answers undefined, move the generation on and retry. */
async function generational(
  backend: UniqueBackend,
  kind: string,
  key: string,
  attempt: (generation: number) => Promise<EnqueueResult | undefined>,
): Promise<EnqueueResult> {
  const gens = backend.generations('unique', { ttlSeconds: SINGLETON_TTL_SECONDS });
  const hashed = hashOf(kind, key); // any key, fixed length, no NUL for Postgres
  let gen = await gens.read(hashed);
  if (gen === 0) gen = await gens.advance(hashed, 0);
  // a few rounds at most: each one moves past a job that another enqueue had not moved past yet
  for (let round = 0; round < 5; round++) {
    const result = await attempt(gen);
    if (result) return result;
    gen = await gens.advance(hashed, gen);
  }
  throw new Error(`uniqueness key "${key}": its generation kept moving; try again`);
}
