// HTTP traffic for chaos and soak runs: a client that records every answer (status, Retry-After,
// latency; `conn` when the connection failed, `timeout` when nothing came back in time), a steady
// open-loop stream (a request every 1/rate s whatever the server does, as real producers behave), and
// the numbers the report prints about a window of answers.
import { percentile, sleep } from './harness.ts';

export type Status = number | 'conn' | 'timeout';

export interface Answer {
  /** what the request was about (a job key, a batch number, `readyz`) */
  key: string;
  startedAt: number;
  ms: number;
  status: Status;
  retryAfter: string | null;
  body: any;
}

export class Api {
  /** every answer, in the order they arrived (unless `sink` takes them) */
  readonly answers: Answer[] = [];
  /** when set, answers go here instead of `answers` (a long soak keeps only what it aggregates) */
  sink: ((a: Answer) => void) | undefined;

  constructor(
    readonly baseUrl: string,
    private readonly apiKey: string,
    private readonly timeoutMs = 30_000,
  ) {}

  async request(method: string, path: string, body: unknown, key: string, headers: Record<string, string> = {}): Promise<Answer> {
    const startedAt = Date.now();
    const h: Record<string, string> = { authorization: `Bearer ${this.apiKey}`, ...headers };
    if (body !== undefined) h['content-type'] = 'application/json';
    let a: Answer;
    try {
      const res = await fetch(this.baseUrl + path, {
        method,
        headers: h,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = text ? JSON.parse(text) : null;
      } catch {}
      a = { key, startedAt, ms: Date.now() - startedAt, status: res.status, retryAfter: res.headers.get('retry-after'), body: parsed };
    } catch (err) {
      const timeout = (err as Error).name === 'TimeoutError';
      a = { key, startedAt, ms: Date.now() - startedAt, status: timeout ? 'timeout' : 'conn', retryAfter: null, body: String(err) };
    }
    if (this.sink) this.sink(a);
    else this.answers.push(a);
    return a;
  }

  enqueue(job: { name: string; data: unknown; options?: unknown }, key: string) {
    return this.request('POST', '/v1/jobs', job, key);
  }

  readyz() {
    return this.request('GET', '/readyz', undefined, 'readyz');
  }
}

export const ok = (a: Answer) => typeof a.status === 'number' && a.status >= 200 && a.status < 300;
/** a 5xx that is not the honest "503 + Retry-After: nothing stored, try later" */
export const bad5xx = (a: Answer) => typeof a.status === 'number' && a.status >= 500 && !(a.status === 503 && a.retryAfter);

/** Calls `send(i)` every 1000/rate ms until `stop()`; resolves `done` when every call has answered. */
export class Stream {
  private stopped = false;
  private readonly inflight = new Set<Promise<unknown>>();
  sent = 0;
  /** requests that got an answer (any status) or failed: what a scenario waits on instead of a fixed time */
  answered = 0;
  readonly done: Promise<void>;

  constructor(rate: number, send: (i: number) => Promise<unknown>) {
    const every = 1000 / rate;
    this.done = (async () => {
      const t0 = Date.now();
      while (!this.stopped) {
        const p = send(this.sent++)
          .catch(() => {})
          .finally(() => {
            this.answered++;
          });
        this.inflight.add(p);
        p.then(() => this.inflight.delete(p));
        const next = t0 + this.sent * every;
        await sleep(Math.max(0, next - Date.now()));
      }
      await Promise.all(this.inflight);
    })();
  }

  stop(): Promise<void> {
    this.stopped = true;
    return this.done;
  }
}

export interface WindowStats {
  count: number;
  statuses: Record<string, number>;
  p50: number;
  p99: number;
  max: number;
  bad5xx: number;
  /** answers (or failures to answer) that took longer than the limit */
  slow: number;
}

export function windowStats(answers: Answer[], from: number, to: number, slowMs = 2_000): WindowStats {
  const w = answers.filter((a) => a.startedAt >= from && a.startedAt <= to);
  const statuses: Record<string, number> = {};
  for (const a of w) statuses[String(a.status)] = (statuses[String(a.status)] ?? 0) + 1;
  const ms = w.map((a) => a.ms);
  return {
    count: w.length,
    statuses,
    p50: percentile(ms, 50),
    p99: percentile(ms, 99),
    max: ms.length ? Math.max(...ms) : 0,
    bad5xx: w.filter(bad5xx).length,
    slow: w.filter((a) => a.ms > slowMs).length,
  };
}

export const formatStatuses = (s: Record<string, number>) =>
  Object.entries(s)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, n]) => `${k}×${n}`)
    .join(' ') || '-';
