// FlowStore on Redis (core/flows/types.ts), every key under the side-store base (keys.ts sideBase, one slot on
// a cluster, so MULTI and scripts stay legal there). Per flow `<base>:flow:<id>` is a hash (state, started,
// createdAt, total, finished, failed) and beside it hashes by job key: `:spec` (the job's stored request),
// `:info` (id, name, parents, index), `:kids` (its children), `:rem` (parents not yet ended), `:fp` (parents
// that failed), `:end` (how it ended) and `:out` (its result or error). `<base>:flows:unstarted` and
// `<base>:flows:ended` are sorted sets by time, for the reconciler and the sweep.
// create is one MULTI (stored whole or not at all); finish is one script (record + count off, atomic).
import type { Redis } from 'ioredis';
import type {
  FinishResult,
  FlowJobFinal,
  FlowJobSpec,
  FlowRecord,
  FlowState,
  FlowStore,
  JobFinish,
  NewFlow,
} from '../../../flows/types.ts';

// KEYS: header, end, out, rem, fp, kids · ARGV: key, final state, outcome JSON
const FINISH = `
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
local first = 0
local failed = ARGV[2] ~= 'completed'
if redis.call('HSETNX', KEYS[2], ARGV[1], ARGV[2]) == 1 then
  first = 1
  redis.call('HSET', KEYS[3], ARGV[1], ARGV[3])
  redis.call('HINCRBY', KEYS[1], 'finished', 1)
  if failed then redis.call('HINCRBY', KEYS[1], 'failed', 1) end
end
local kids = cjson.decode(redis.call('HGET', KEYS[6], ARGV[1]) or '[]')
local out = {}
for _, c in ipairs(kids) do
  local rem, fp
  if first == 1 then
    rem = redis.call('HINCRBY', KEYS[4], c, -1)
    if failed then fp = redis.call('HINCRBY', KEYS[5], c, 1) else fp = tonumber(redis.call('HGET', KEYS[5], c) or '0') end
  else
    rem = tonumber(redis.call('HGET', KEYS[4], c) or '0')
    fp = tonumber(redis.call('HGET', KEYS[5], c) or '0')
  end
  out[#out + 1] = c
  out[#out + 1] = rem
  out[#out + 1] = fp
  out[#out + 1] = redis.call('HGET', KEYS[2], c) or ''
end
local h = redis.call('HMGET', KEYS[1], 'finished', 'total', 'failed', 'state')
return {first, tonumber(h[1]), tonumber(h[2]), tonumber(h[3] or '0'), h[4], out}
`;

// KEYS: header, unstarted, ended · ARGV: id, state, now
const SET_STATE = `
if redis.call('HGET', KEYS[1], 'state') ~= 'running' then return 0 end
redis.call('HSET', KEYS[1], 'state', ARGV[2], 'endedAt', ARGV[3])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1])
return 1
`;

const SUFFIXES = ['spec', 'info', 'kids', 'rem', 'fp', 'end', 'out'] as const;

interface Info {
  id: string;
  name: string;
  parents: string[];
  index: number;
}

export class RedisFlowStore implements FlowStore {
  /** `redis` is borrowed: the backend owns it */
  constructor(
    private readonly redis: Redis,
    /** `<prefix>:_conveyor` (keys.ts sideBase) */
    private readonly base: string,
  ) {}

  private k(id: string, part?: (typeof SUFFIXES)[number]) {
    return part ? `${this.base}:flow:${id}:${part}` : `${this.base}:flow:${id}`;
  }

  private get unstartedKey() {
    return `${this.base}:flows:unstarted`;
  }

  private get endedKey() {
    return `${this.base}:flows:ended`;
  }

  async create(flow: NewFlow) {
    const m = this.redis.multi();
    m.hset(this.k(flow.id), { state: 'running', started: '0', createdAt: flow.createdAt, total: flow.jobs.length, finished: 0, failed: 0 });
    const spec: Record<string, string> = {};
    const info: Record<string, string> = {};
    const kids: Record<string, string> = {};
    const rem: Record<string, number> = {};
    for (const j of flow.jobs) {
      spec[j.key] = JSON.stringify(j);
      info[j.key] = JSON.stringify({ id: j.id, name: j.name, parents: j.parents, index: j.index } satisfies Info);
      kids[j.key] = JSON.stringify(j.children);
      rem[j.key] = j.parents.length;
    }
    m.hset(this.k(flow.id, 'spec'), spec);
    m.hset(this.k(flow.id, 'info'), info);
    m.hset(this.k(flow.id, 'kids'), kids);
    m.hset(this.k(flow.id, 'rem'), rem);
    m.zadd(this.unstartedKey, flow.createdAt, flow.id);
    const res = await m.exec();
    const failed = res?.find(([err]) => err);
    if (!res || failed) throw failed?.[0] ?? new Error('flow create: transaction aborted');
  }

  async markStarted(id: string) {
    await this.redis.multi().hset(this.k(id), 'started', '1').zrem(this.unstartedKey, id).exec();
  }

  async finish(id: string, key: string, end: JobFinish): Promise<FinishResult | null> {
    const keys = [this.k(id), this.k(id, 'end'), this.k(id, 'out'), this.k(id, 'rem'), this.k(id, 'fp'), this.k(id, 'kids')];
    const r = (await this.redis.eval(FINISH, keys.length, ...keys, key, end.state, JSON.stringify(end))) as
      | [number, number, number, number, string, (string | number)[]]
      | null;
    if (!r) return null;
    const [first, finished, total, failed, state, flat] = r;
    const children: FinishResult['children'] = [];
    for (let i = 0; i < flat.length; i += 4) {
      children.push({
        key: String(flat[i]),
        remaining: Number(flat[i + 1]),
        failedParents: Number(flat[i + 2]),
        final: (String(flat[i + 3]) || null) as FlowJobFinal | null,
      });
    }
    return { first: first === 1, children, finished, total, failed, state: state as FlowState };
  }

  async specs(id: string, keys: string[]): Promise<FlowJobSpec[]> {
    if (keys.length === 0) return [];
    const raw = await this.redis.hmget(this.k(id, 'spec'), ...keys);
    return raw.filter((s): s is string => s !== null).map((s) => JSON.parse(s) as FlowJobSpec);
  }

  async outcomes(id: string, keys: string[]) {
    const out: Record<string, JobFinish> = {};
    if (keys.length === 0) return out;
    const raw = await this.redis.hmget(this.k(id, 'out'), ...keys);
    keys.forEach((k, i) => {
      const s = raw[i];
      if (s) out[k] = JSON.parse(s) as JobFinish;
    });
    return out;
  }

  async get(id: string): Promise<FlowRecord | null> {
    const res = await this.redis
      .multi()
      .hgetall(this.k(id))
      .hgetall(this.k(id, 'info'))
      .hgetall(this.k(id, 'rem'))
      .hgetall(this.k(id, 'end'))
      .exec();
    const [header, info, rem, ends] = (res ?? []).map(([, v]) => (v ?? {}) as Record<string, string>);
    if (!header?.state) return null;
    const jobs = (Object.entries(info ?? {}) as [string, string][])
      .map(([key, s]) => ({ key, info: JSON.parse(s) as Info }))
      .sort((a, b) => a.info.index - b.info.index)
      .map(({ key, info: i }) => ({
        key,
        id: i.id,
        name: i.name,
        parents: i.parents,
        remaining: Number(rem?.[key] ?? 0),
        final: (ends?.[key] ?? null) as FlowJobFinal | null,
      }));
    return { id, state: header.state as FlowState, started: header.started === '1', createdAt: Number(header.createdAt), jobs };
  }

  async setState(id: string, to: Exclude<FlowState, 'running'>) {
    const moved = await this.redis.eval(SET_STATE, 3, this.k(id), this.unstartedKey, this.endedKey, id, to, Date.now());
    return Number(moved) === 1;
  }

  async unstarted(beforeMs: number, limit: number) {
    return this.redis.zrangebyscore(this.unstartedKey, '-inf', `(${beforeMs}`, 'LIMIT', 0, limit);
  }

  async sweep(beforeMs: number) {
    const ids = await this.redis.zrangebyscore(this.endedKey, '-inf', `(${beforeMs}`, 'LIMIT', 0, 500);
    if (ids.length === 0) return 0;
    const m = this.redis.multi();
    for (const id of ids) m.del(this.k(id), ...SUFFIXES.map((s) => this.k(id, s)));
    m.zrem(this.endedKey, ...ids);
    await m.exec();
    return ids.length;
  }
}
