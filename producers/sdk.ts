// Typed Node SDK for producers. It speaks the HTTP API, and its types come from the job catalog,
// so `client.enqueue('email.send', { wrong: 1 })` does not compile.
//
//   const conveyor = new ConveyorClient({ baseUrl: 'http://jobs.internal:3000', apiKey: process.env.CONVEYOR_API_KEY });
//   const job = await conveyor.enqueue('diagnostics.noop', {}, { idempotencyKey: 'order-42' });

import { randomUUID } from 'node:crypto';
import type { DeadLetter, JobView, QueueInfo } from '../core/engine.ts';
import { readEvents } from '../core/http/sse.ts';
import type { ErrorDetail } from '../core/validation.ts';
import type { JobName, PayloadInput } from '../workers/catalog.ts';
import type { JobOptions } from './enqueue.ts';

export type { JobName, PayloadInput } from '../workers/catalog.ts';
export type { JobOptions } from './enqueue.ts';

export type JobRequest = { [N in JobName]: { name: N; data: PayloadInput<N>; options?: JobOptions } }[JobName];

type DeepPartial<T> = T extends readonly unknown[] ? T : T extends object ? { [K in keyof T]?: DeepPartial<T[K]> } : T;

/** A job whose data is completed from its parents' results at release (`dataFrom`): the fields it fills may be missing. */
type FilledJobRequest = {
  [N in JobName]: { name: N; data?: DeepPartial<PayloadInput<N>>; options?: JobOptions; dataFrom: Record<string, string> };
}[JobName];

/**
 * A job of a workflow (POST /v1/flows, docs/flows.md): `key` names it for its children's `dependsOn`;
 * `dataFrom` fills fields of its data from its parents' results (`{ "vars.url": "report.download" }`).
 */
export type FlowJobRequest = (JobRequest | FilledJobRequest) & {
  key: string;
  dependsOn?: string[];
  onParentFailure?: 'fail' | 'skip' | 'continue';
};

export interface FlowCreated {
  id: string;
  jobs: { key: string; id: string }[];
}

export interface JobSummary {
  id: string;
  name: JobName;
  queue: string;
  state: JobView['state'];
  links: { self: string };
}

export interface EnqueueOutcome extends JobSummary {
  /** false when an idempotency key matched an existing job */
  created: boolean;
}

export class ConveyorApiError extends Error {
  override name = 'ConveyorApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: ErrorDetail[],
    readonly requestId: string | undefined,
    /** seconds, from Retry-After on 429/503 */
    readonly retryAfter?: number,
  ) {
    super(`${status} ${code}: ${message}${details.length ? ` (${details.map((d) => `${d.path}: ${d.message}`).join('; ')})` : ''}`);
  }
}

export interface ClientOptions {
  baseUrl: string;
  apiKey: string;
  /** sent as X-Request-Id so the worker's logs carry it */
  requestId?: () => string;
  timeoutMs?: number;
  /**
   * enqueues answered 503 (store unavailable) or that got no answer (connection error, timeout) are sent
   * again this many times, after Retry-After (or 0.2 s doubling, at most 5 s), with the same Idempotency-Key:
   * a retry never makes a second job (nor a second flow, schedule run or replay). A 409 naming Idempotency-Key
   * (the lost first attempt still running) is retried the same way. Default 3; 0 turns retries off.
   */
  retries?: number;
  fetch?: typeof fetch;
}

/** the uniqueness options that give the job a deterministic id of their own (no idempotency key beside them) */
const UNIQUE_OPTIONS = ['singletonKey', 'throttle', 'debounce'] as const;

export class ConveyorClient {
  private readonly base: string;
  private readonly fetch: typeof fetch;

  constructor(private readonly opts: ClientOptions) {
    this.base = opts.baseUrl.replace(/\/+$/, '');
    this.fetch = opts.fetch ?? fetch;
  }

  private headers(accept: string): Record<string, string> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.opts.apiKey}`, accept };
    const rid = this.opts.requestId?.();
    if (rid) headers['x-request-id'] = rid;
    return headers;
  }

  /** `extraMs`: on top of the client's timeout (a long-poll's wait) */
  private async call<T>(
    method: string,
    path: string,
    body?: unknown,
    extraMs = 0,
    extra: Record<string, string> = {},
  ): Promise<{ status: number; body: T }> {
    const headers = { ...this.headers('application/json'), ...extra };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await this.fetch(this.base + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout((this.opts.timeoutMs ?? 10_000) + extraMs),
    });
    return this.parse<T>(res);
  }

  private async parse<T>(res: Response): Promise<{ status: number; body: T }> {
    const text = await res.text();
    const parsed = text ? (JSON.parse(text) as unknown) : null;
    if (!res.ok) {
      const e = (parsed as { error?: { code: string; message: string; details: ErrorDetail[]; requestId: string } } | null)?.error;
      const retry = res.headers.get('retry-after');
      throw new ConveyorApiError(
        res.status,
        e?.code ?? 'http_error',
        e?.message ?? res.statusText,
        e?.details ?? [],
        e?.requestId,
        retry ? Number(retry) : undefined,
      );
    }
    return { status: res.status, body: parsed as T };
  }

  /** POST `body` with `key` as Idempotency-Key, again on a 503 or a lost answer (ClientOptions.retries). */
  private async post<T>(path: string, body: unknown, key: string | undefined): Promise<{ status: number; body: T }> {
    const retries = this.opts.retries ?? 3;
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.call<T>('POST', path, body, 0, key === undefined ? {} : { 'idempotency-key': key });
      } catch (err) {
        const api = err instanceof ConveyorApiError;
        const inFlight = api && err.status === 409 && key !== undefined && err.details[0]?.path === 'Idempotency-Key';
        if (attempt >= retries || (api && err.status !== 503 && !inFlight)) throw err;
        const waitS = api && err.retryAfter !== undefined ? err.retryAfter : 0.2 * 2 ** attempt;
        await new Promise((r) => setTimeout(r, Math.min(5_000, waitS * 1000)));
      }
    }
  }

  /**
   * Enqueue one job. It always carries an idempotency key (yours, or a fresh one sent as the Idempotency-Key
   * header), so the retries after a 503 or a lost answer never make two jobs. A repeated key returns the
   * existing job with `created: false`.
   */
  async enqueue<N extends JobName>(name: N, data: PayloadInput<N>, options?: JobOptions): Promise<EnqueueOutcome> {
    const own = UNIQUE_OPTIONS.some((k) => options?.[k] !== undefined); // a deterministic id already: safe to retry
    const key = options?.idempotencyKey ?? (own ? undefined : randomUUID());
    const r = await this.post<JobSummary>('/v1/jobs', { name, data, options }, key);
    return { ...r.body, created: r.status === 202 };
  }

  /** Enqueue many jobs, all or nothing; one Idempotency-Key for the request, so its retries are safe. */
  async enqueueMany(jobs: JobRequest[]): Promise<EnqueueOutcome[]> {
    const r = await this.post<{ jobs: EnqueueOutcome[] }>('/v1/jobs/bulk', { jobs }, randomUUID());
    return r.body.jobs;
  }

  async getJob(id: string): Promise<JobView> {
    return (await this.call<JobView>('GET', `/v1/jobs/${encodeURIComponent(id)}`)).body;
  }

  /** Cancel a job: waiting/delayed are removed; an active one is signalled (`cancelRequested`). */
  async cancel(id: string): Promise<JobView & { cancelRequested?: boolean }> {
    return (await this.call<JobView & { cancelRequested?: boolean }>('DELETE', `/v1/jobs/${encodeURIComponent(id)}`)).body;
  }

  async queues(): Promise<QueueInfo[]> {
    return (await this.call<{ queues: QueueInfo[] }>('GET', '/v1/queues')).body.queues;
  }

  async deadLetters(queue?: string, limit = 100): Promise<DeadLetter[]> {
    const q = new URLSearchParams({ limit: String(limit), ...(queue ? { queue } : {}) });
    return (await this.call<{ deadLetters: DeadLetter[] }>('GET', `/v1/dead-letters?${q}`)).body.deadLetters;
  }

  /** Re-enqueue a dead job; keyed (Idempotency-Key), so a retry after a lost answer answers the same job. */
  async replay(id: string, opts: { idempotencyKey?: string } = {}): Promise<JobSummary> {
    const path = `/v1/dead-letters/${encodeURIComponent(id)}/replay`;
    return (await this.post<JobSummary>(path, undefined, opts.idempotencyKey ?? randomUUID())).body;
  }

  /**
   * Create a workflow (a DAG of jobs, all or nothing). It carries an Idempotency-Key (yours or a fresh one),
   * so a retry after a 503 or a lost answer answers the flow the first attempt made, never a second one.
   */
  async createFlow(jobs: FlowJobRequest[], opts: { idempotencyKey?: string } = {}): Promise<FlowCreated> {
    return (await this.post<FlowCreated>('/v1/flows', { jobs }, opts.idempotencyKey ?? randomUUID())).body;
  }

  /** Enqueue a schedule's job now; keyed like createFlow, so a retried call is one run. */
  async runSchedule(name: string, opts: { idempotencyKey?: string } = {}): Promise<JobSummary> {
    const path = `/v1/schedules/${encodeURIComponent(name)}/run`;
    return (await this.post<JobSummary>(path, undefined, opts.idempotencyKey ?? randomUUID())).body;
  }

  /**
   * The job once it is finished (completed, dead, failed or cancelled); throws when `timeoutMs` passes
   * first. No polling: a long-poll (`?wait=`, up to 60 s a request) or, with `onProgress`, the job's event
   * stream (`/events`), which calls it with the job on each state change and progress report.
   */
  async waitForJob(id: string, opts: { timeoutMs?: number; onProgress?: (job: JobView) => void } = {}): Promise<JobView> {
    const timeoutMs = opts.timeoutMs ?? 60_000;
    const deadline = Date.now() + timeoutMs;
    const path = `/v1/jobs/${encodeURIComponent(id)}`;
    for (;;) {
      const left = Math.max(0, deadline - Date.now());
      const job = opts.onProgress
        ? await this.followEvents(path, left, opts.onProgress)
        : (await this.call<JobView>('GET', `${path}?wait=${Math.min(60, Math.ceil(left / 1000))}`, undefined, left)).body;
      if (job && FINAL.has(job.state)) return job;
      if (Date.now() >= deadline) throw new Error(`job ${id} still ${job?.state ?? 'unknown'} after ${timeoutMs} ms`);
    }
  }

  /** Follow the job's event stream for up to `ms`; the last job seen (null if none arrived). */
  private async followEvents(path: string, ms: number, onJob: (job: JobView) => void): Promise<JobView | null> {
    const signal = AbortSignal.timeout(ms);
    let last: JobView | null = null;
    try {
      const res = await this.fetch(`${this.base}${path}/events`, { headers: this.headers('text/event-stream'), signal });
      if (!res.ok || !res.body) await this.parse(res); // throws the API's error
      for await (const e of readEvents(res.body as ReadableStream<Uint8Array>)) {
        if (e.event !== 'state' && e.event !== 'progress') continue;
        last = JSON.parse(e.data) as JobView;
        onJob(last);
        if (FINAL.has(last.state)) break;
      }
    } catch (err) {
      if (!signal.aborted) throw err;
    }
    return last;
  }
}

const FINAL = new Set(['completed', 'dead', 'failed', 'cancelled']);
