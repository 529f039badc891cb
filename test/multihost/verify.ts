// After the traffic: wait until every acknowledged job reached a final state (or the deadline), then read each
// one back over the API, and count side effects: handler completions per job id in the workers' logs, and
// emails per job id at the SMTP catcher.
import { readLog, sleep } from './procs.ts';
import { urls } from './topology.ts';

export interface JobView {
  id: string;
  name: string;
  state: string;
  attempts: { made: number; max: number };
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

export const FINAL = new Set(['completed', 'dead', 'cancelled']);

export class Api {
  constructor(private readonly key: string) {}

  async call(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
    const res = await fetch(`${urls.web()}${path}`, {
      method,
      headers: { authorization: `Bearer ${this.key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(15_000),
    });
    return { status: res.status, json: await res.json().catch(() => null) };
  }

  /** GET /v1/jobs/:id for every id, `concurrency` at a time; null for a 404. */
  async jobs(ids: string[], concurrency = 16): Promise<Map<string, JobView | null>> {
    const out = new Map<string, JobView | null>();
    let next = 0;
    const worker = async () => {
      while (next < ids.length) {
        const id = ids[next++] as string;
        for (let attempt = 1; ; attempt++) {
          try {
            const r = await this.call('GET', `/v1/jobs/${encodeURIComponent(id)}`);
            if (r.status === 404) out.set(id, null);
            else if (r.status === 200) out.set(id, r.json as JobView);
            else throw new Error(`HTTP ${r.status}`);
            break;
          } catch (err) {
            if (attempt >= 3) throw new Error(`GET /v1/jobs/${id}: ${(err as Error).message}`);
            await sleep(200);
          }
        }
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    return out;
  }

  /** jobs not yet finished in the queues the traffic uses */
  async pending(queues = ['default', 'email']): Promise<number> {
    const r = await this.call('GET', '/v1/queues');
    let n = 0;
    for (const q of r.json?.queues ?? []) {
      if (!queues.includes(q.name)) continue;
      n += (q.counts.waiting ?? 0) + (q.counts.delayed ?? 0) + (q.counts.active ?? 0);
    }
    return n;
  }
}

/**
 * Wait for the queues to empty, then read every job; re-read the ones not final yet until the deadline.
 * Returns every job's last view (null: the API does not know the id).
 */
export async function settle(api: Api, ids: string[], deadline: number, log: (s: string) => void): Promise<Map<string, JobView | null>> {
  let lastPending = -1;
  while (Date.now() < deadline) {
    const n = await api.pending().catch(() => -1);
    if (n === 0) break;
    if (n !== lastPending) log(`  waiting for ${n} unfinished jobs in default/email`);
    lastPending = n;
    await sleep(1_000);
  }
  const views = await api.jobs(ids);
  for (;;) {
    const open = ids.filter((id) => {
      const v = views.get(id);
      return v === null || v === undefined || !FINAL.has(v.state);
    });
    if (open.length === 0 || Date.now() >= deadline) return views;
    await sleep(1_000);
    for (const [id, v] of await api.jobs(open)) views.set(id, v);
  }
}

/** handler completions per job id across the given worker logs, and on which host each ran */
export function completionsFromLogs(logs: { host: string; file: string }[]): Map<string, string[]> {
  const runs = new Map<string, string[]>();
  for (const { host, file } of logs) {
    for (const line of readLog(file)) {
      if (line.msg !== 'job completed' || typeof line.jobId !== 'string') continue;
      const list = runs.get(line.jobId) ?? [];
      list.push(host);
      runs.set(line.jobId, list);
    }
  }
  return runs;
}

export interface CaughtMail {
  /** address of the host that sent it */
  from: string;
  jobId: string | null;
  messageId: string | null;
  to: string[];
  at: number;
}

export async function caughtMail(): Promise<CaughtMail[]> {
  const res = await fetch(`${urls.mailApi()}/messages`, { signal: AbortSignal.timeout(10_000) });
  return (await res.json()) as CaughtMail[];
}

export const pct = (xs: number[], p: number): number => {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] as number;
};
