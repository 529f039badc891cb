// Group limits on Redis (core/groups/, docs/groups.md). Per queue, under `<queue prefix>:_conveyor:groups:<queue>`
// (hash-tagged with the queue on a cluster, so every step is one script on the queue's shard):
// `:overrides` (hash group → JSON), `:groups` (set of groups with jobs), and per group `:p:<group>` (parked,
// zset id → ready ms), `:h:<group>` (slots, zset id → since ms), `:r:<group>` (the next start its rate allows).
// One Lua script (groups.lua) parks, frees and releases atomically, by the Redis clock; releasing a job is then
// BullMQ's own promote (or changeDelay to its rate slot). A crash between the two leaves a slot held by a
// parked job: the reaper (core/groups/sweeper.ts) finds it by age and parks the job again.
import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';
import { FreeBatcher, type Slot } from '../../../groups/batch.ts';
import type { GroupCounts, GroupDefaults, GroupOverride, GroupStore, HeldSlot } from '../../../groups/types.ts';
import type { BullmqEngine } from '../engine.ts';
import { queuePrefix } from '../keys.ts';

const STEP = readFileSync(new URL('./groups.lua', import.meta.url), 'utf8');

type StepArgs = (string | number)[];
type StepRedis = Redis & { conveyorGroupStep(...args: StepArgs): Promise<(string | number)[]> };
type StepCall = { group: string; mode: 'park' | 'free'; extra: StepArgs };

export class RedisGroupStore implements GroupStore {
  private readonly redis: StepRedis;
  private readonly frees = new FreeBatcher((queue, slots) => this.freeMany(queue, slots));

  /** `redis` is borrowed: the backend owns it */
  constructor(
    redis: Redis,
    private readonly engine: BullmqEngine,
    readonly defaults: (queue: string) => GroupDefaults,
  ) {
    if (!('conveyorGroupStep' in redis)) redis.defineCommand('conveyorGroupStep', { numberOfKeys: 5, lua: STEP });
    this.redis = redis as StepRedis;
  }

  private base(queue: string) {
    return `${queuePrefix(this.engine.layout, queue)}:_conveyor:groups:${queue}`;
  }

  private keys(queue: string, group: string) {
    const b = this.base(queue);
    return [`${b}:overrides`, `${b}:groups`, `${b}:p:${group}`, `${b}:h:${group}`, `${b}:r:${group}`];
  }

  private async step(queue: string, group: string, mode: 'park' | 'free' | 'fill', extra: (string | number)[] = []) {
    const d = this.defaults(queue);
    const out = await this.redis.conveyorGroupStep(...this.keys(queue, group), mode, group, d.concurrency, d.ratePerSecond, ...extra);
    await this.release(queue, group, out.slice(1).map(String));
    return Number(out[0]) === 1;
  }

  /** Make released jobs due (now or at their rate slot); a job that is no longer parked gives its slot on. */
  private async release(queue: string, group: string, flat: string[]) {
    const q = this.engine.queue(queue);
    for (let i = 0; i < flat.length; i += 2) {
      const id = flat[i] as string;
      const delay = Number(flat[i + 1]);
      try {
        if (delay > 0) await q.backend.changeDelay(id, delay);
        else await q.backend.promote(id);
      } catch {
        // not delayed any more: gone or finished (its slot goes on), or made due by someone else (it keeps it)
        const state = await q.getJobState(id);
        if (state === 'unknown' || state === 'completed' || state === 'failed') await this.step(queue, group, 'free', [id]);
      }
    }
  }

  async park(queue: string, group: string, jobs: { id: string; delayMs: number }[]) {
    if (jobs.length === 0) return;
    await this.step(
      queue,
      group,
      'park',
      jobs.flatMap((j) => [j.id, Math.max(0, Math.round(j.delayMs))]),
    );
  }

  free(queue: string, group: string, id: string) {
    return this.frees.free({ queue, group, id });
  }

  /** Many steps in one pipeline (one round trip), then their releases, group by group in parallel. */
  private async pipelined(queue: string, calls: StepCall[]): Promise<number[]> {
    const d = this.defaults(queue);
    const pipe = this.redis.pipeline() as unknown as {
      conveyorGroupStep(...args: StepArgs): void;
      exec(): Promise<[Error | null, unknown][]>;
    };
    for (const c of calls)
      pipe.conveyorGroupStep(...this.keys(queue, c.group), c.mode, c.group, d.concurrency, d.ratePerSecond, ...c.extra);
    const res = (await pipe.exec()) ?? [];
    const outs = calls.map((_, i) => {
      const [err, out] = res[i] ?? [new Error('no reply'), null];
      if (err) throw err;
      return out as (string | number)[];
    });
    const byGroup = new Map<string, string[]>();
    for (const [i, c] of calls.entries()) {
      byGroup.set(c.group, [...(byGroup.get(c.group) ?? []), ...(outs[i] as (string | number)[]).slice(1).map(String)]);
    }
    await Promise.all([...byGroup].map(([group, flat]) => this.release(queue, group, flat)));
    return outs.map((o) => Number(o[0]));
  }

  private async freeMany(queue: string, slots: Slot[]): Promise<boolean[]> {
    const freed = await this.pipelined(
      queue,
      slots.map((s) => ({ group: s.group, mode: 'free' as const, extra: [s.id] })),
    );
    return freed.map((f) => f === 1);
  }

  async parkMany(queue: string, jobs: { group: string; id: string; delayMs: number }[]) {
    const byGroup = new Map<string, StepArgs>();
    for (const j of jobs) byGroup.set(j.group, [...(byGroup.get(j.group) ?? []), j.id, Math.max(0, Math.round(j.delayMs))]);
    if (byGroup.size > 0)
      await this.pipelined(
        queue,
        [...byGroup].map(([group, extra]) => ({ group, mode: 'park' as const, extra })),
      );
  }

  async fill(queue: string, group: string) {
    await this.step(queue, group, 'fill');
  }

  groups(queue: string) {
    return this.redis.smembers(`${this.base(queue)}:groups`);
  }

  async counts(queue: string, groups?: string[]): Promise<GroupCounts[]> {
    const names = groups ?? (await this.groups(queue));
    if (names.length === 0) return [];
    const b = this.base(queue);
    const pipe = this.redis.pipeline();
    for (const g of names) pipe.zcard(`${b}:p:${g}`).zcard(`${b}:h:${g}`).zrange(`${b}:p:${g}`, 0, 0, 'WITHSCORES');
    const res = (await pipe.exec()) ?? [];
    const now = Date.now();
    return names.map((group, i) => {
      const [waiting, active, first] = [res[3 * i]?.[1], res[3 * i + 1]?.[1], res[3 * i + 2]?.[1] as string[] | undefined];
      const readyAt = first && first.length === 2 ? Number(first[1]) : now;
      return {
        group,
        waiting: Number(waiting ?? 0),
        active: Number(active ?? 0),
        oldestWaitingAgeSeconds: Math.max(0, Math.floor((now - readyAt) / 1000)),
      };
    });
  }

  async heldLongerThan(queue: string, ageMs: number): Promise<HeldSlot[]> {
    const names = await this.groups(queue);
    if (names.length === 0) return [];
    const b = this.base(queue);
    const pipe = this.redis.pipeline();
    for (const g of names) pipe.zrangebyscore(`${b}:h:${g}`, '-inf', Date.now() - ageMs, 'LIMIT', 0, 1000);
    const res = (await pipe.exec()) ?? [];
    return names.flatMap((group, i) => ((res[i]?.[1] as string[] | undefined) ?? []).map((id) => ({ group, id })));
  }

  async getOverride(queue: string, group: string) {
    const raw = await this.redis.hget(`${this.base(queue)}:overrides`, group);
    return raw ? (JSON.parse(raw) as GroupOverride) : null;
  }

  async putOverride(queue: string, group: string, override: GroupOverride) {
    await this.redis.hset(`${this.base(queue)}:overrides`, group, JSON.stringify(override));
  }

  async removeOverride(queue: string, group: string) {
    return (await this.redis.hdel(`${this.base(queue)}:overrides`, group)) > 0;
  }

  async overrides(queue: string) {
    const all = await this.redis.hgetall(`${this.base(queue)}:overrides`);
    return new Map(Object.entries(all).map(([g, raw]) => [g, JSON.parse(raw) as GroupOverride]));
  }
}
