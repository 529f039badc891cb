// Typed Node SDK for producers. It speaks the HTTP API, and its types come from the job catalog,
// so `client.enqueue('email.send', { wrong: 1 })` does not compile.
//
//   const conveyor = new ConveyorClient({ baseUrl: 'http://jobs.internal:3000', apiKey: process.env.CONVEYOR_API_KEY });
//   const job = await conveyor.enqueue('diagnostics.noop', {}, { idempotencyKey: 'order-42' });

import type { DeadLetter, JobView, QueueInfo } from '../core/engine.ts';
import type { ErrorDetail } from '../core/validation.ts';
import type { JobName, PayloadInput } from '../workers/catalog.ts';
import type { JobOptions } from './enqueue.ts';

export type { JobName, PayloadInput } from '../workers/catalog.ts';
export type { JobOptions } from './enqueue.ts';

export type JobRequest = { [N in JobName]: { name: N; data: PayloadInput<N>; options?: JobOptions } }[JobName];

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
  fetch?: typeof fetch;
}

export class ConveyorClient {
  private readonly base: string;
  private readonly fetch: typeof fetch;

  constructor(private readonly opts: ClientOptions) {
    this.base = opts.baseUrl.replace(/\/+$/, '');
    this.fetch = opts.fetch ?? fetch;
  }

  private async call<T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.opts.apiKey}`, accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const rid = this.opts.requestId?.();
    if (rid) headers['x-request-id'] = rid;
    const res = await this.fetch(this.base + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(this.opts.timeoutMs ?? 10_000),
    });
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

  /** Enqueue one job. A repeated idempotency key returns the existing job with `created: false`. */
  async enqueue<N extends JobName>(name: N, data: PayloadInput<N>, options?: JobOptions): Promise<EnqueueOutcome> {
    const r = await this.call<JobSummary>('POST', '/v1/jobs', { name, data, options });
    return { ...r.body, created: r.status === 202 };
  }

  /** Enqueue many jobs, all or nothing. */
  async enqueueMany(jobs: JobRequest[]): Promise<EnqueueOutcome[]> {
    const r = await this.call<{ jobs: EnqueueOutcome[] }>('POST', '/v1/jobs/bulk', { jobs });
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

  async replay(id: string): Promise<JobSummary> {
    return (await this.call<JobSummary>('POST', `/v1/dead-letters/${encodeURIComponent(id)}/replay`)).body;
  }

  /** Poll until the job is finished (completed, dead, failed or cancelled) or the deadline passes. */
  async waitForJob(
    id: string,
    opts: { timeoutMs?: number; intervalMs?: number; onProgress?: (job: JobView) => void } = {},
  ): Promise<JobView> {
    const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
    for (;;) {
      const job = await this.getJob(id);
      opts.onProgress?.(job);
      if (['completed', 'dead', 'failed', 'cancelled'].includes(job.state)) return job;
      if (Date.now() > deadline) throw new Error(`job ${id} still ${job.state} after ${opts.timeoutMs ?? 60_000} ms`);
      await new Promise((r) => setTimeout(r, opts.intervalMs ?? 250));
    }
  }
}
