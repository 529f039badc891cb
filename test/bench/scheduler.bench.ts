// Scheduler fire accuracy: slot time → job enqueued (the job's timestamp minus its slot), p50/p99, with
// three real scheduler processes sharing K every-second schedules; duplicates and missed slots (target 0).
// Raw baseline in the same run: node-cron (one process, no coordination) calling BullMQ Queue.add.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import cron, { type ScheduledTask } from 'node-cron';
import { createRedis, deleteKeysWithPrefix } from '../../core/engines/bullmq/redis.ts';
import { RedisScheduleStore } from '../../core/engines/bullmq/stores/schedules.ts';
import type { StoredSchedule } from '../../scheduler/definition.ts';
import type { BenchContext, BenchRow } from './types.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? Number.NaN;
};

const drop = deleteKeysWithPrefix;

function spawnScheduler(redisUrl: string, prefix: string): { child: ChildProcess; started: Promise<void> } {
  const child = spawn(`${ROOT}node_modules/.bin/tsx`, ['processes/scheduler.ts'], {
    cwd: ROOT,
    env: {
      ...process.env,
      REDIS_URL: redisUrl,
      QUEUE_PREFIX: prefix,
      NODE_ENV: 'test',
      LOG_LEVEL: 'info',
      SCHEDULES_DISABLED: 'dead-letter-digest,retention-cleanup',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const started = new Promise<void>((resolve, reject) => {
    let buf = '';
    child.stdout?.on('data', (c: Buffer) => {
      buf += c.toString();
      if (buf.includes('"scheduler started"')) resolve();
      if (buf.length > 100_000) buf = buf.slice(-1000);
    });
    child.once('exit', (code) => reject(new Error(`scheduler exited early (${code})`)));
  });
  return { child, started };
}

async function stop(child: ChildProcess) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(t);
}

export default async function schedulerBench(ctx: BenchContext): Promise<BenchRow[]> {
  const schedules = ctx.quick ? 4 : 10;
  const seconds = ctx.quick ? 6 : 30;
  const prefix = `bench-sched-${randomBytes(4).toString('hex')}`;
  const rawPrefix = `${prefix}-raw`;
  const storeRedis = createRedis(ctx.redisUrl, 'scheduler');
  const store = new RedisScheduleStore<StoredSchedule>(storeRedis, `${prefix}:_conveyor`);
  const names = Array.from({ length: schedules }, (_, i) => `b${i}`);
  const now = Date.now();
  for (const name of names) {
    await store.put({
      name,
      cron: '* * * * * *',
      timezone: 'UTC',
      job: { name: 'diagnostics.noop', data: {}, options: {} },
      misfire: { policy: 'skip', max: 100 },
      enabled: true,
      notBeforeMs: now,
      updatedAtMs: now,
    });
  }
  const procs = [0, 1, 2].map(() => spawnScheduler(ctx.redisUrl, prefix));
  const rawQueue = new Queue('default', { connection: { url: ctx.redisUrl }, prefix: rawPrefix });
  const rawTasks: ScheduledTask[] = [];
  try {
    await Promise.all(procs.map((p) => p.started));
    ctx.log(`3 schedulers up; ${schedules} every-second schedules for ${seconds} s (raw node-cron + Queue.add alongside)`);
    for (const name of names) {
      rawTasks.push(
        cron.schedule('* * * * * *', (c) => rawQueue.add(name, {}, { jobId: `raw-${name}-${c.date.getTime()}` }).then(() => undefined), {
          name: `raw-${name}`,
        }),
      );
    }
    const first = Math.ceil(Date.now() / 1000) * 1000 + 2000;
    const last = first + (seconds - 1) * 1000;
    while (Date.now() < last + 2500) await new Promise((r) => setTimeout(r, 250)); // wall-clock window of the run
    for (const t of rawTasks) await t.destroy();

    const read = async (q: Queue) =>
      (await q.getJobs(['waiting', 'prioritized', 'delayed', 'active', 'completed', 'failed'])).filter(Boolean);
    const ourQueue = new Queue('default', { connection: { url: ctx.redisUrl }, prefix });
    const ours = await read(ourQueue);
    const raw = await read(rawQueue);
    await ourQueue.close();

    const inWindow = (slot: number) => slot >= first && slot <= last;
    const lat: number[] = [];
    const slots = new Set<string>();
    for (const j of ours) {
      const m = /^schedule-(.+)-(\d+)$/.exec(String(j.id));
      if (!m) continue;
      const slot = Number(m[2]);
      if (!inWindow(slot)) continue;
      slots.add(`${m[1]}@${slot}`);
      lat.push(j.timestamp - slot);
    }
    const rawLat: number[] = [];
    for (const j of raw) {
      const slot = Number(/-(\d+)$/.exec(String(j.id))?.[1]);
      if (inWindow(slot)) rawLat.push(j.timestamp - slot);
    }
    const expected = schedules * seconds;
    const duplicates = lat.length - slots.size;
    const missed = expected - slots.size;
    ctx.log(`ours: ${lat.length} jobs for ${slots.size}/${expected} slots; raw: ${rawLat.length} jobs`);
    const p99 = pct(lat, 99);
    return [
      {
        section: 'scheduler',
        metric: `fire accuracy p50 (3 replicas, ${expected} slots)`,
        ours: pct(lat, 50),
        baseline: pct(rawLat, 50),
        unit: 'ms',
      },
      {
        section: 'scheduler',
        metric: 'fire accuracy p99',
        ours: p99,
        baseline: pct(rawLat, 99),
        unit: 'ms',
        target: 'p99 ≤ 100 ms',
        met: p99 <= 100,
      },
      { section: 'scheduler', metric: 'duplicate jobs', ours: duplicates, unit: 'jobs', target: '0', met: duplicates === 0 },
      { section: 'scheduler', metric: 'missed slots', ours: missed, unit: 'slots', target: '0', met: missed === 0 },
    ];
  } finally {
    for (const t of rawTasks) await t.destroy();
    await Promise.all(procs.map((p) => stop(p.child)));
    await rawQueue.close();
    storeRedis.disconnect();
    await drop(ctx.redisUrl, prefix);
    await drop(ctx.redisUrl, rawPrefix);
  }
}
