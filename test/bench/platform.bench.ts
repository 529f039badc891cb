// The open platform (issue 10), on each engine, in one process (engine, worker runtime and web as the
// processes run them, minus process boundaries), the HTTP target / receiver in a second one:
//  1. an HTTP-target kind against a local target answering in 1 ms vs diagnostics.noop: jobs/s, ratio (≥ 0.5×)
//     and diagnostics.sleep 1 ms (the target's wait without HTTP), which splits that gap in two
//  2. completion-webhook deliveries/s (webhooks.deliver jobs POSTing to a local receiver)
//  3. long-poll wake-up: GET /v1/jobs/:id?wait=10 answered how long after the job's finishedAt, p50/p99
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { pino } from 'pino';
import type { Backend } from '../../core/backend.ts';
import { deleteKeysWithPrefix } from '../../core/engines/bullmq/redis.ts';
import { createBackend, pgbossSchemaFor } from '../../core/engines/factory.ts';
import { webhookEvents } from '../../core/outbound/events.ts';
import { createOutbound } from '../../core/outbound/index.ts';
import { createApp } from '../../producers/app.ts';
import { generateApiKey } from '../../producers/auth.ts';
import { kindRegistry, queueNames, toEnqueueRequest, validateJob } from '../../workers/catalog.ts';
import { type Config, loadConfig } from '../../workers/config.ts';
import { handlers as diagnostics } from '../../workers/diagnostics/handlers.ts';
import { compileKind } from '../../workers/http/declaration.ts';
import { httpHandlers } from '../../workers/http/handler.ts';
import { startWorkers } from '../../workers/runtime.ts';
import { deliverer } from '../../workers/webhooks/handler.ts';
import type { BenchContext, BenchRow } from './types.ts';

const logger = pino({ level: 'warn' });
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const KIND = 'bench.http-target';
const SECRET = `whsec_${randomBytes(32).toString('base64')}`;
const CONCURRENCY = 50;

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? Number.NaN;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// The target, in its own node process (as a deployment has it: another service on other cores), so the
// figure is the worker's cost, not the worker's and the target's on one event loop.
const TARGET_JS = `
const srv = require('node:http').createServer((req, res) => {
  req.resume();
  req.on('end', () => setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'), 1));
});
srv.keepAliveTimeout = 60000;
srv.listen(0, '127.0.0.1', () => process.stdout.write(srv.address().port + '\\n'));
process.stdin.on('end', () => process.exit(0)).resume();
`;

/** A target that answers 200 `{}` after 1 ms, in a child process (ends with its stdin, i.e. with us). */
async function target() {
  const child = spawn(process.execPath, ['-e', TARGET_JS], { stdio: ['pipe', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`bench target exited (${code})`)));
    child.stdout.once('data', (b: Buffer) => resolve(Number(String(b).trim())));
  });
  return {
    url: `http://127.0.0.1:${port}/run`,
    close: () => {
      child.removeAllListeners('exit');
      child.kill();
    },
  };
}

/**
 * The raw library for the HTTP row: n POSTs of a job-sized JSON body over node:http with a keep-alive
 * agent (what core/outbound/post.ts uses), CONCURRENCY in flight: what the target itself can take.
 */
async function rawPosts(url: string, n: number): Promise<number> {
  const agent = new HttpAgent({ keepAlive: true, maxSockets: 64 });
  const body = JSON.stringify({ id: randomBytes(16).toString('hex'), name: KIND, attempt: 1, data: {} });
  const post = () =>
    new Promise<void>((resolve, reject) => {
      const req = httpRequest(url, { method: 'POST', agent, headers: { 'content-type': 'application/json' } }, (res) => {
        res.resume();
        res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`target answered ${res.statusCode}`))));
      });
      req.on('error', reject);
      req.end(body);
    });
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next++ < n) await post();
    }),
  );
  const rate = n / ((performance.now() - t0) / 1000);
  agent.destroy();
  return rate;
}

async function platform(engine: 'bullmq' | 'pgboss') {
  const prefix = `cvbench-plat-${randomBytes(3).toString('hex')}`;
  const config = loadConfig({
    ...(engine === 'pgboss' ? { QUEUE_ENGINE: 'pgboss', DATABASE_URL, REDIS_URL: '' } : { QUEUE_ENGINE: 'bullmq', REDIS_URL }),
    QUEUE_PREFIX: prefix,
    LOG_LEVEL: 'warn',
    NODE_ENV: 'test',
    HTTP_TARGET_ALLOWLIST: '127.0.0.1',
    SIGNING_SECRET: SECRET,
    API_RATE_LIMIT_RPS: '1000000',
    RETENTION_COMPLETED_COUNT: '10000000',
  });
  const backend = createBackend(config, logger, { queues: queueNames });
  await backend.release?.run();
  return { config, backend, prefix };
}

async function drop(config: Config, backend: Backend) {
  await backend.close();
  await deleteKeysWithPrefix(REDIS_URL, config.QUEUE_PREFIX).catch(() => {});
  if (config.QUEUE_ENGINE === 'pgboss') {
    const c = new pg.Client({ connectionString: DATABASE_URL });
    await c.connect();
    await c.query(`DROP SCHEMA IF EXISTS ${pgbossSchemaFor(config.QUEUE_PREFIX)} CASCADE`);
    await c.end();
  }
}

/** Enqueue n jobs of `name`, start the worker, time until the queue's completed count reaches n. */
async function drain(
  p: Awaited<ReturnType<typeof platform>>,
  name: string,
  n: number,
  start: () => { close(ms: number): Promise<unknown> },
  data: Record<string, unknown> = {},
): Promise<number> {
  const v = validateJob({ name, data });
  if (!v.ok) throw new Error(`bad bench job ${name}`);
  const queue = kindRegistry.get(name)?.queue as string;
  for (let i = 0; i < n; i += 1000) {
    await p.backend.engine.enqueueMany(Array.from({ length: Math.min(1000, n - i) }, () => toEnqueueRequest(v.job, p.config)));
  }
  return timedDrain(p, queue, n, start);
}

async function timedDrain(
  p: Awaited<ReturnType<typeof platform>>,
  queue: string,
  n: number,
  start: () => { close(ms: number): Promise<unknown> },
) {
  const base = (await p.backend.engine.queueInfo([queue]))[0]?.counts.completed ?? 0;
  const t0 = performance.now();
  const rt = start();
  const until = Date.now() + 300_000;
  try {
    for (;;) {
      const done = ((await p.backend.engine.queueInfo([queue]))[0]?.counts.completed ?? 0) - base;
      if (done >= n) return n / ((performance.now() - t0) / 1000);
      if (Date.now() > until) throw new Error(`only ${done} of ${n} ${queue} jobs completed`);
      await sleep(20);
    }
  } finally {
    await rt.close(1_000);
  }
}

async function httpVsNoop(engine: 'bullmq' | 'pgboss', n: number): Promise<BenchRow[]> {
  const p = await platform(engine);
  const tgt = await target();
  const out = await createOutbound(p.config);
  kindRegistry.setSource('bench', {
    [KIND]: compileKind(
      { name: KIND, url: tgt.url, payload: { type: 'object' }, queue: 'http', timeoutMs: 30_000, attempts: 5, priority: 5 },
      'runtime',
    ),
  });
  try {
    const noop = await drain(p, 'diagnostics.noop', n, () =>
      startWorkers({ engine: p.backend.engine, logger, handlers: diagnostics, queues: { default: CONCURRENCY } }),
    );
    const http = await drain(p, KIND, n, () =>
      startWorkers({ engine: p.backend.engine, logger, handlers: {}, declared: httpHandlers(out), queues: { http: CONCURRENCY } }),
    );
    // the same wait without HTTP: a handler that sleeps 1 ms (what the target does), so the row below splits
    // the gap into the cost of an async 1 ms job on the engine and the cost of the HTTP call itself. Only the
    // sleep: the kind's own handler also reports progress twice (its row below: what progress costs)
    const justSleep = { ...diagnostics, 'diagnostics.sleep': async (d: { ms: number }) => sleep(d.ms) };
    const sleep1 = await drain(
      p,
      'diagnostics.sleep',
      n,
      () => startWorkers({ engine: p.backend.engine, logger, handlers: justSleep, queues: { default: CONCURRENCY } }),
      { ms: 1 },
    );
    const withProgress = await drain(
      p,
      'diagnostics.sleep',
      n,
      () => startWorkers({ engine: p.backend.engine, logger, handlers: diagnostics, queues: { default: CONCURRENCY } }),
      { ms: 1 },
    );
    const raw = await rawPosts(tgt.url, n);
    return [
      {
        section: 'platform',
        metric: `[${engine}] diagnostics.sleep 1 ms with its two ctx.progress reports vs without, same run`,
        ours: withProgress,
        baseline: sleep1,
        unit: 'jobs/s',
      },
      {
        section: 'platform',
        metric: `[${engine}] HTTP-target kind vs raw node:http keep-alive POSTs to the same target, ${CONCURRENCY} at once`,
        ours: http,
        baseline: raw,
        unit: 'jobs/s',
      },
      {
        section: 'platform',
        metric: `[${engine}] diagnostics.sleep 1 ms (no HTTP) vs diagnostics.noop, same run`,
        ours: sleep1,
        baseline: noop,
        unit: 'jobs/s',
      },
      {
        section: 'platform',
        metric: `[${engine}] HTTP-target kind vs diagnostics.sleep 1 ms, same run`,
        ours: http,
        baseline: sleep1,
        unit: 'jobs/s',
      },
      {
        section: 'platform',
        metric: `[${engine}] HTTP-target kind (1 ms target) vs diagnostics.noop, ${n} jobs, concurrency ${CONCURRENCY}`,
        ours: http,
        baseline: noop,
        unit: 'jobs/s',
        target: '≥ 0.5× noop',
        met: http >= 0.5 * noop,
      },
    ];
  } finally {
    kindRegistry.setSource('bench', {});
    out.close();
    tgt.close();
    await drop(p.config, p.backend);
  }
}

async function deliveries(engine: 'bullmq' | 'pgboss', n: number): Promise<BenchRow> {
  const p = await platform(engine);
  const rx = await target();
  const out = await createOutbound(p.config);
  try {
    const events = webhookEvents(p.backend, p.config);
    for (let i = 0; i < n; i += 100) {
      await Promise.all(
        Array.from({ length: Math.min(100, n - i) }, (_, j) =>
          events.emit('job.completed', { id: `bench-${i + j}`, kind: 'diagnostics.noop', queue: 'default', callbackUrl: rx.url }, () => ({
            id: `bench-${i + j}`,
          })),
        ),
      );
    }
    const rate = await timedDrain(p, 'webhooks', n, () =>
      startWorkers({
        engine: p.backend.engine,
        logger,
        handlers: { 'webhooks.deliver': deliverer(out, p.config, p.backend.engine) } as never,
        queues: { webhooks: CONCURRENCY },
      }),
    );
    return {
      section: 'platform',
      metric: `[${engine}] webhook deliveries (1 ms receiver), ${n}, concurrency ${CONCURRENCY}`,
      ours: rate,
      unit: 'deliveries/s',
    };
  } finally {
    out.close();
    rx.close();
    await drop(p.config, p.backend);
  }
}

async function longPoll(engine: 'bullmq' | 'pgboss', n: number): Promise<BenchRow[]> {
  const p = await platform(engine);
  const key = generateApiKey();
  const app = await createApp({
    engine: p.backend.engine,
    backend: p.backend,
    config: p.config,
    logger,
    apiKeys: [{ name: 'bench', sha256: key.sha256, scopes: ['admin'] }],
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise<void>((r) => server.once('listening', () => r()));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const rt = startWorkers({ engine: p.backend.engine, logger, handlers: diagnostics, queues: { default: 10 } });
  const headers = { authorization: `Bearer ${key.key}`, 'content-type': 'application/json' };
  const lags: number[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const res = await fetch(`${base}/v1/jobs`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ name: 'diagnostics.sleep', data: { ms: 20 } }),
      });
      const { id } = (await res.json()) as { id: string };
      const job = (await (await fetch(`${base}/v1/jobs/${id}?wait=10`, { headers })).json()) as { state: string; finishedAt: string };
      const at = Date.now();
      if (job.state !== 'completed') throw new Error(`long-poll answered ${job.state}`);
      lags.push(at - Date.parse(job.finishedAt));
    }
  } finally {
    await rt.close(1_000);
    server.closeAllConnections();
    server.close();
    await drop(p.config, p.backend);
  }
  const row = (q: number): BenchRow => ({
    section: 'platform',
    metric: `[${engine}] long-poll wake-up after finishedAt, p${q} of ${n}`,
    ours: pct(lags, q),
    unit: 'ms',
    target: q === 99 ? '≤ 100 ms' : undefined,
    met: q === 99 ? pct(lags, q) <= 100 : undefined,
  });
  return [row(50), row(99)];
}

export default async function platformBench(ctx: BenchContext): Promise<BenchRow[]> {
  const n = ctx.quick ? 500 : 5_000;
  const rows: BenchRow[] = [];
  for (const engine of ['bullmq', 'pgboss'] as const) {
    ctx.log(`${engine}: HTTP-target kind vs noop`);
    rows.push(...(await httpVsNoop(engine, n)));
    ctx.log(`${engine}: webhook deliveries`);
    rows.push(await deliveries(engine, n));
    ctx.log(`${engine}: long-poll wake-up`);
    rows.push(...(await longPoll(engine, ctx.quick ? 30 : 200)));
  }
  return rows;
}
