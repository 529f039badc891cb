// Mixed traffic from the load host to the web host over HTTP, at a capped rate: bulk and single POSTs of
// diagnostics.noop, diagnostics.sleep (short and long, some failing once, a few failing for good) and email.send.
// Only what the API acknowledged (202/200 with an id) is recorded; some singles are sent twice with the same
// idempotency key, as a client retrying after a timeout would, and must come back as the same job.
// Backpressure: while the queues hold more than `maxBacklog` unfinished jobs the clients hold off (until half
// that), so a slow or overloaded machine stretches the drain by seconds, not minutes; the held time is reported.
import { randomUUID } from 'node:crypto';
import { sleep } from './procs.ts';

export type Expect = 'completed' | 'dead';

export interface Acked {
  id: string;
  kind: string;
  expect: Expect;
  ackedAt: number;
}

interface JobSpec {
  name: string;
  data: Record<string, unknown>;
  options?: Record<string, unknown>;
  expect: Expect;
}

export interface TrafficStats {
  requests: number;
  failedRequests: number;
  errors: Record<string, number>;
  resends: number;
  resendsCollapsed: number;
  resendsSplit: number;
}

const CLIENTS = 6;
const BULK_SIZE = 25;

function pickJob(n: number): JobSpec {
  const r = Math.random();
  if (r < 0.84) return { name: 'diagnostics.noop', data: { note: `mh-${n}` }, expect: 'completed' };
  if (r < 0.9) {
    const ms = 50 + Math.floor(Math.random() * 1000);
    const f = Math.random();
    if (f < 0.15) return { name: 'diagnostics.sleep', data: { ms, fail: 'transient', failAttempts: 1, tag: `t${n}` }, expect: 'completed' };
    if (f < 0.2) return { name: 'diagnostics.sleep', data: { ms, fail: 'permanent', tag: `p${n}` }, expect: 'dead' };
    return { name: 'diagnostics.sleep', data: { ms, tag: `s${n}` }, expect: 'completed' };
  }
  if (r < 0.92)
    return { name: 'diagnostics.sleep', data: { ms: 2_000 + Math.floor(Math.random() * 3_000), tag: `l${n}` }, expect: 'completed' };
  return {
    name: 'email.send',
    data: { template: 'welcome', to: `user${n}@example.test`, vars: { name: `User ${n}`, loginUrl: 'https://app.example.test/login' } },
    expect: 'completed',
  };
}

export class Traffic {
  readonly acked = new Map<string, Acked>();
  readonly stats: TrafficStats = { requests: 0, failedRequests: 0, errors: {}, resends: 0, resendsCollapsed: 0, resendsSplit: 0 };
  private running = false;
  private loops: Promise<void>[] = [];
  private tokens = 0;
  private last = 0;
  private seq = 0;
  private heldSince: number | undefined;
  /** [from, to] spans in which the clients held off because of the backlog */
  readonly held: [number, number][] = [];

  constructor(
    private readonly base: string,
    private readonly key: string,
    private readonly rate: number,
    private readonly backlog: { max: number; read: () => Promise<number> },
  ) {}

  start(): void {
    this.running = true;
    this.last = Date.now();
    this.loops = [...Array.from({ length: CLIENTS }, () => this.loop()), this.watchBacklog()];
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
    if (this.heldSince !== undefined) this.held.push([this.heldSince, Date.now()]);
    this.heldSince = undefined;
  }

  private async watchBacklog(): Promise<void> {
    while (this.running) {
      const n = await this.backlog.read().catch(() => -1);
      if (this.heldSince === undefined && n > this.backlog.max) this.heldSince = Date.now();
      else if (this.heldSince !== undefined && n >= 0 && n < this.backlog.max / 2) {
        this.held.push([this.heldSince, Date.now()]);
        this.heldSince = undefined;
      }
      await sleep(500);
    }
  }

  /** token bucket shared by the clients: wait until `n` jobs fit under the rate */
  private async take(n: number): Promise<boolean> {
    for (;;) {
      if (!this.running) return false;
      if (this.heldSince !== undefined) {
        await sleep(100);
        this.last = Date.now();
        continue;
      }
      const now = Date.now();
      this.tokens = Math.min(this.rate, this.tokens + ((now - this.last) / 1000) * this.rate);
      this.last = now;
      if (this.tokens >= n) {
        this.tokens -= n;
        return true;
      }
      await sleep(Math.max(5, ((n - this.tokens) / this.rate) * 1000));
    }
  }

  private async loop(): Promise<void> {
    while (this.running) {
      const bulk = Math.random() < 0.5;
      const specs = Array.from({ length: bulk ? BULK_SIZE : 1 }, () => pickJob(++this.seq));
      if (!(await this.take(specs.length))) return;
      if (bulk) await this.post('/v1/jobs/bulk', { jobs: specs.map(({ expect: _, ...j }) => j) }, specs);
      else if (Math.random() < 0.05) await this.resend(specs[0] as JobSpec);
      else await this.post('/v1/jobs', strip(specs[0] as JobSpec), specs);
    }
  }

  private async send(path: string, body: unknown): Promise<{ status: number; json: any } | null> {
    this.stats.requests++;
    try {
      const res = await fetch(`${this.base}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${this.key}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(15_000),
      });
      const json: any = await res.json().catch(() => null);
      if (res.status !== 200 && res.status !== 202) {
        this.fail(`HTTP ${res.status} ${json?.error?.code ?? ''}`.trim());
        return null;
      }
      return { status: res.status, json };
    } catch (err) {
      this.fail((err as Error).name === 'TimeoutError' ? 'timeout' : `${(err as Error).message}`);
      return null;
    }
  }

  private fail(what: string) {
    this.stats.failedRequests++;
    this.stats.errors[what] = (this.stats.errors[what] ?? 0) + 1;
  }

  private async post(path: string, body: unknown, specs: JobSpec[]): Promise<void> {
    const r = await this.send(path, body);
    if (!r) return;
    const now = Date.now();
    const jobs: { id: string }[] = r.json?.jobs ?? [r.json];
    jobs.forEach((j, i) => {
      const spec = specs[i] as JobSpec;
      if (j?.id) this.acked.set(j.id, { id: j.id, kind: spec.name, expect: spec.expect, ackedAt: now });
    });
  }

  /** the same job twice under one idempotency key: the second answer must name the first job */
  private async resend(spec: JobSpec): Promise<void> {
    const body = { ...strip(spec), options: { idempotencyKey: `mh-${randomUUID()}` } };
    const first = await this.send('/v1/jobs', body);
    if (!first?.json?.id) return;
    this.acked.set(first.json.id, { id: first.json.id, kind: spec.name, expect: spec.expect, ackedAt: Date.now() });
    const second = await this.send('/v1/jobs', body);
    if (!second) return;
    this.stats.resends++;
    if (second.json?.id === first.json.id) this.stats.resendsCollapsed++;
    else {
      this.stats.resendsSplit++;
      if (second.json?.id)
        this.acked.set(second.json.id, { id: second.json.id, kind: spec.name, expect: spec.expect, ackedAt: Date.now() });
    }
  }
}

function strip(spec: JobSpec): Omit<JobSpec, 'expect'> {
  const { expect: _, ...rest } = spec;
  return rest;
}
