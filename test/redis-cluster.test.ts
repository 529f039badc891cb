// The BullMQ engine on a real Redis Cluster: three masters (Debian's redis-server with --cluster-enabled on free
// ports, joined by `redis-cli --cluster create … --cluster-replicas 0`), started and removed by this file.
// With REDIS_CLUSTER=1 every queue's keys share one hash tag, so BullMQ's multi-key scripts, our dead-lettering,
// cancel, idempotency, bulk, schedules (MULTI), send ledger and recent list (Lua), throughput (pipeline), audit,
// rate limits and job search all run without a CROSSSLOT error; and the catalog's queues land on more than one master.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queueNames } from '../workers/catalog.ts';
import { handlers as diagnostics } from '../workers/diagnostics/handlers.ts';
import { setup, waitFor } from './helpers.ts';

const run = promisify(execFile);
const MASTERS = 3;

/** A free port whose cluster-bus port (+10000) is free too. */
async function freePortPair(): Promise<number> {
  const listen = (port: number) =>
    new Promise<number>((resolve, reject) => {
      const s = createServer();
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
  for (;;) {
    const port = await listen(0);
    if (port + 10_000 > 65_535) continue;
    if (
      await listen(port + 10_000).then(
        () => true,
        () => false,
      )
    )
      return port;
  }
}

const dir = mkdtempSync(join(tmpdir(), 'cv-cluster-'));
const servers: ChildProcess[] = [];
let ports: number[] = [];
let nodes: Redis[] = [];

beforeAll(async () => {
  ports = [];
  for (let i = 0; i < MASTERS; i++) ports.push(await freePortPair());
  for (const port of ports) {
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`];
    args.push('--dir', dir, '--save', '', '--appendonly', 'no', '--protected-mode', 'no', '--loglevel', 'warning');
    servers.push(spawn('redis-server', args, { stdio: 'ignore' }));
  }
  nodes = ports.map((port) => new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 1 }));
  for (const n of nodes) n.on('error', () => {}); // refused until the server listens; waitFor below retries
  await waitFor(async () => (await Promise.all(nodes.map((n) => n.ping().catch(() => null)))).every((p) => p === 'PONG'), {
    what: 'redis-server nodes up',
    timeoutMs: 20_000,
  });
  await run('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'], {
    timeout: 30_000,
  });
  await waitFor(async () => (await Promise.all(nodes.map((n) => n.cluster('INFO')))).every((i) => String(i).includes('cluster_state:ok')), {
    what: 'cluster_state:ok on every node',
    timeoutMs: 30_000,
  });
}, 90_000);

afterAll(async () => {
  for (const n of nodes) n.disconnect();
  for (const s of servers) s.kill('SIGKILL');
  await Promise.all(servers.map((s) => (s.exitCode === null && s.signalCode === null ? new Promise((r) => s.once('exit', r)) : null)));
  rmSync(dir, { recursive: true, force: true });
});

/** Every key under `prefix` on every master: node index per key. */
async function keysByNode(prefix: string): Promise<Map<string, number>> {
  const where = new Map<string, number>();
  await Promise.all(
    nodes.map(async (n, i) => {
      let cursor = '0';
      do {
        const [next, keys] = await n.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
        cursor = next;
        for (const k of keys) where.set(k, i);
      } while (cursor !== '0');
    }),
  );
  return where;
}

describe('[bullmq] on a 3-master Redis Cluster (REDIS_CLUSTER=1)', { timeout: 90_000 }, () => {
  it('runs jobs, retries, dead letters, cancels, idempotency and bulk; every queue on one shard, queues spread over the masters', async () => {
    // REDIS_URL names a node that does not own the side stores' slot: a side-store connection that is not a
    // Cluster client would get MOVED answers (it did: the records and limiter stores)
    const sideSlot = Number(await nodes[0]?.cluster('KEYSLOT', '{_conveyor}'));
    const slots = (await nodes[0]?.cluster('SLOTS')) ?? [];
    const sideOwner = slots.find(([from, to]) => from <= sideSlot && sideSlot <= to)?.[2]?.[1];
    const entry = ports.find((p) => p !== sideOwner);
    const t = await setup({ engine: 'bullmq', REDIS_URL: `redis://127.0.0.1:${entry}`, REDIS_CLUSTER: '1' });
    const prefix = t.config.QUEUE_PREFIX;
    t.startWorker({ handlers: diagnostics });

    const single = await t.api('POST', '/v1/jobs', { name: 'diagnostics.noop', data: { note: 'one' } });
    expect(single.status).toBe(202);
    const keyed = { name: 'diagnostics.noop', data: {}, options: { idempotencyKey: 'k-1' } };
    const first = await t.api('POST', '/v1/jobs', keyed);
    const again = await t.api('POST', '/v1/jobs', keyed);
    expect(again.body.id).toBe(first.body.id);
    const bulk = await t.api('POST', '/v1/jobs/bulk', {
      jobs: Array.from({ length: 50 }, (_, i) => ({ name: 'diagnostics.noop', data: { note: `b${i}` } })),
    });
    expect(bulk.status).toBe(202);
    const retried = await t.api('POST', '/v1/jobs', { name: 'diagnostics.sleep', data: { ms: 0, fail: 'transient', failAttempts: 1 } });
    const dead = await t.api('POST', '/v1/jobs', {
      name: 'diagnostics.sleep',
      data: { ms: 0, fail: 'permanent' },
      options: { attempts: 1 },
    });
    const delayed = await t.api('POST', '/v1/jobs', { name: 'diagnostics.noop', data: {}, options: { delay: 600_000 } });
    const cancelled = await t.api('DELETE', `/v1/jobs/${delayed.body.id}`);
    expect(cancelled.body.state, JSON.stringify([delayed.body, cancelled.body])).toBe('cancelled');

    const ids = [single.body.id, first.body.id, retried.body.id, ...bulk.body.jobs.map((j: { id: string }) => j.id)];
    await waitFor(
      async () =>
        (await Promise.all(ids.map(async (id) => (await t.api('GET', `/v1/jobs/${id}`)).body.state))).every((s) => s === 'completed'),
      {
        what: 'every job completed on the cluster',
        timeoutMs: 45_000,
      },
    );
    expect((await t.api('GET', `/v1/jobs/${retried.body.id}`)).body.attempts.made).toBe(2);
    await waitFor(async () => (await t.api('GET', `/v1/jobs/${dead.body.id}`)).body.state === 'dead', { what: 'dead', timeoutMs: 30_000 });
    const letters = (await t.api('GET', '/v1/dead-letters?queue=default')).body;
    expect(letters.deadLetters.map((d: { id: string }) => d.id)).toContain(dead.body.id);

    // side stores: schedules (MULTI), throughput (pipeline), audit, rate limits, queue info
    const put = await t.api('PUT', '/v1/schedules/cluster-check', { cron: '0 0 1 1 *', job: { name: 'diagnostics.noop', data: {} } });
    expect(put.status).toBeLessThan(300);
    expect((await t.api('GET', '/v1/schedules')).status).toBe(200);
    // job search walks the per-queue index (a Lua script over the queue's and its DLQ's keys)
    const found = await t.api('GET', '/v1/jobs?queue=default&kind=diagnostics.noop&limit=100');
    expect(found.status).toBe(200);
    expect(found.body.jobs.map((j: { id: string }) => j.id)).toContain(single.body.id);
    const queues = await t.api('GET', '/v1/queues');
    expect(queues.status).toBe(200);
    expect(queues.body.queues.find((q: { name: string }) => q.name === 'default').counts.completed).toBeGreaterThanOrEqual(53);

    // placement: one queue's keys (and its dead-letter queue's) sit on one master
    const where = await keysByNode(prefix);
    const owner = new Map<string, Set<number>>();
    for (const [key, node] of where) {
      const tag = /^[^:]+:\{([^}]+)\}:/.exec(key)?.[1];
      expect(tag, `key without a hash tag: ${key}`).toBeDefined();
      owner.set(tag as string, (owner.get(tag as string) ?? new Set()).add(node));
    }
    expect(owner.get('default')?.size).toBe(1);
    for (const [tag, on] of owner) expect(on.size, `${tag} spans ${on.size} masters`).toBe(1);
    expect([...where.keys()].some((k) => k.includes('{default}:default-dlq:'))).toBe(true);

    // the catalog's queues: each hashes to one slot; together they cover more than one master
    const masterOf = async (queue: string) => {
      const slot = Number(await nodes[0]!.cluster('KEYSLOT', `${prefix}:{${queue}}:${queue}:wait`));
      const slots = (await nodes[0]!.cluster('SLOTS')) as unknown as [number, number, [string, number]][];
      return slots.find(([lo, hi]) => slot >= lo && slot <= hi)?.[2][1];
    };
    const masters = new Set(await Promise.all(queueNames.map(masterOf)));
    expect(masters.size).toBeGreaterThan(1);
  });
});
