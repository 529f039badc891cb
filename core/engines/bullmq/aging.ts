// Priority aging on BullMQ (docs/engines.md "Priorities"): a waiting job runs as if its priority were
// `priority − floor(waited / agingMs)`, never above 1, so under a steady stream of urgent jobs a
// priority-p job starts within (p − 1) × agingMs plus one sweep. The sweep is one Lua script per queue:
// for each priority band 2..10 it reads the oldest `limit` jobs (BullMQ scores prioritized jobs
// `priority × 2^32 + counter`), and moves each job that has aged to the front of the band it reached
// (score `target × 2^32`, as BullMQ's own `changePriority({ lifo: true })`), writing `priority` on the job.
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { agingSweepIntervalMs } from '../shared.ts';

const SCRIPT = `
local prioritized, jobPrefix = KEYS[1], ARGV[1]
local now, agingMs, limit = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local band = 4294967296
local moved = 0
for p = 2, 10 do
  local ids = redis.call('ZRANGEBYSCORE', prioritized, p * band, (p + 1) * band - 1, 'LIMIT', 0, limit)
  for _, id in ipairs(ids) do
    local h = redis.call('HMGET', jobPrefix .. id, 'timestamp', 'delay', 'opts')
    local ok, opts = pcall(cjson.decode, h[3] or '{}')
    local original = (ok and type(opts) == 'table' and tonumber(opts.priority)) or p
    local waited = now - (tonumber(h[1]) or now) - (tonumber(h[2]) or 0)
    local target = math.max(1, original - math.floor(waited / agingMs))
    if target < p then
      redis.call('ZADD', prioritized, target * band, id)
      redis.call('HSET', jobPrefix .. id, 'priority', target)
      moved = moved + 1
    end
  end
end
return moved
`;

/** how many of the oldest jobs of each band one sweep looks at (bounds its cost; the rest wait a sweep) */
const BAND_LIMIT = 200;

export function startAgingSweep(client: Redis, queue: Queue, agingMs: number, log: Logger): () => void {
  let busy = false;
  const sweep = async () => {
    if (busy) return;
    busy = true;
    try {
      const prefix = queue.toKey('');
      await client.eval(SCRIPT, 1, `${prefix}prioritized`, prefix, Date.now(), agingMs, BAND_LIMIT);
    } catch (err) {
      log.warn({ queue: queue.name, err: (err as Error).message }, 'priority aging sweep failed; next sweep retries');
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(() => void sweep(), agingSweepIntervalMs(agingMs));
  timer.unref();
  return () => clearInterval(timer);
}
