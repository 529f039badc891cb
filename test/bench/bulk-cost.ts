// `npx tsx test/bench/bulk-cost.ts`: what a 1,000-job enqueue costs the producer and Redis, raw BullMQ
// `addBulk` (a plain pipeline) vs the engine's `enqueueMany` (one MULTI with the search-index entries, the
// views of the created jobs), in this process, no HTTP: wall time, producer CPU (process.cpuUsage) and Redis
// CPU (INFO cpu) around each call, median of 15, alternating. Same job options as core.bench.ts. A
// diagnosis for docs/benchmarks.md, not a section of `npm run bench`. NOSWEEP=1 leaves out the index sweep.
import { randomBytes, randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { pino } from 'pino';
import type { EnqueueRequest } from '../../core/engine.ts';
import { BullmqEngine } from '../../core/engines/bullmq/engine.ts';
import { createRedis, deleteKeysWithPrefix } from '../../core/engines/bullmq/redis.ts';

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const N = 1000;
const ROUNDS = 15;
const prefix = `cvbench-bulkcost-${randomBytes(3).toString('hex')}`;
const conn = createRedis(url, 'producer');
const info = createRedis(url, 'producer');
const q = new Queue('default', { connection: conn, prefix: `${prefix}-raw` });
const engine = new BullmqEngine({
  redisUrl: url,
  prefix: `${prefix}-ours`,
  logger: pino({ level: 'warn' }),
  idempotencyTtlSeconds: 86_400,
  queues: ['default'],
  worker: { lockDurationMs: 30_000, stalledIntervalMs: 30_000, maxStalledCount: 1 },
});
if (process.env.NOSWEEP) (engine as unknown as { searchIndex: { sweep(): Promise<number> } }).searchIndex.sweep = async () => 0;
const jobOpts = {
  attempts: 5,
  backoff: { type: 'exponential', delay: 1000 },
  removeOnComplete: { age: 86_400, count: 10_000_000 },
  removeOnFail: { age: 604_800, count: 50_000 },
  priority: 5,
};
const reqs = (): EnqueueRequest[] =>
  Array.from({ length: N }, (_, k) => ({
    name: 'diagnostics.noop',
    queue: 'default',
    data: { note: `n${k}` },
    meta: {},
    timeoutMs: 60_000,
    delayMs: 0,
    priority: 5,
    attempts: 5,
    backoff: { baseMs: 1000, capMs: 3_600_000, jitter: 'full' },
    retention: { completedSeconds: 86_400, completedCount: 10_000_000, failedSeconds: 604_800, failedCount: 50_000 },
  }));
const redisCpuMs = async () => {
  const s = await info.info('cpu');
  return (Number(/used_cpu_user:([\d.]+)/.exec(s)?.[1]) + Number(/used_cpu_sys:([\d.]+)/.exec(s)?.[1])) * 1000;
};
const idle = () => new Promise((r) => setTimeout(r, 30)); // the previous call's background sweep ends
const stats: Record<string, { wall: number[]; cpu: number[]; redis: number[] }> = {};
async function measure(label: string, f: () => Promise<unknown>) {
  await idle();
  const r0 = await redisCpuMs();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await f();
  const wall = performance.now() - t0;
  const c = process.cpuUsage(c0);
  await idle();
  const s = stats[label] ?? { wall: [], cpu: [], redis: [] };
  stats[label] = s;
  s.wall.push(wall);
  s.cpu.push((c.user + c.system) / 1000);
  s.redis.push((await redisCpuMs()) - r0);
}
try {
  for (let r = 0; r < ROUNDS; r++) {
    await measure('raw addBulk', () =>
      q.addBulk(
        Array.from({ length: N }, (_, k) => ({
          name: 'diagnostics.noop',
          data: { note: `n${k}` },
          opts: { ...jobOpts, jobId: randomUUID() },
        })),
      ),
    );
    await measure('engine.enqueueMany', () => engine.enqueueMany(reqs()));
  }
  const med = (a: number[]) => ([...a].sort((x, y) => x - y)[a.length >> 1] as number).toFixed(1);
  for (const [k, s] of Object.entries(stats)) {
    console.log(`${k.padEnd(20)} wall ${med(s.wall)} ms, producer CPU ${med(s.cpu)} ms, Redis CPU ${med(s.redis)} ms (per ${N} jobs)`);
  }
} finally {
  await q.close();
  await engine.close();
  conn.disconnect();
  info.disconnect();
  await deleteKeysWithPrefix(url, prefix);
}
process.exit(0);
