// OnceLedger on Redis: one key per entry, `<prefix>:_conveyor:<name>:<key>` (the email send ledger:
// `<prefix>:_conveyor:email:sent:<jobId>`). The value is `{"state":"sending","token":…}` while claimed
// (PX lease) and `{"state":"sent",…record}` once done (EX ttl).
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { BeginResult, OnceLedger } from '../../../stores.ts';

type Stored<R> = { state: 'sending'; token: string } | ({ state: 'sent' } & R);

// KEYS[1] ledger key · ARGV[1] token · ARGV[2] lease ms. Returns {"go"} | {"sent", json} | {"busy", pttl}.
const BEGIN = `
local cur = redis.call('GET', KEYS[1])
if not cur then
  redis.call('SET', KEYS[1], cjson.encode({state='sending', token=ARGV[1]}), 'PX', tonumber(ARGV[2]))
  return {'go'}
end
local v = cjson.decode(cur)
if v.state == 'sent' then return {'sent', cur} end
return {'busy', tostring(redis.call('PTTL', KEYS[1]))}
`;
// KEYS[1] ledger key · ARGV[1] token. Deletes the key only while it holds our claim.
const RELEASE = `
local cur = redis.call('GET', KEYS[1])
if not cur then return 0 end
local v = cjson.decode(cur)
if v.state == 'sending' and v.token == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

export class RedisOnceLedger<R extends object> implements OnceLedger<R> {
  /** `redis` is borrowed: the backend owns it */
  constructor(
    private readonly redis: Redis,
    private readonly opts: { base: string; name: string; ttlSeconds: number },
  ) {}

  private key(k: string) {
    return `${this.opts.base}:${this.opts.name}:${k}`;
  }

  async begin(key: string, leaseMs: number): Promise<BeginResult<R>> {
    const token = randomUUID();
    const r = (await this.redis.eval(BEGIN, 1, this.key(key), token, String(Math.max(1, Math.ceil(leaseMs))))) as string[];
    if (r[0] === 'go') return { state: 'go', token };
    if (r[0] === 'sent') return { state: 'done', record: toRecord(JSON.parse(r[1] as string) as Stored<R>) };
    return { state: 'busy', retryInMs: Math.max(1_000, Number(r[1])) };
  }

  async commit(key: string, record: R): Promise<void> {
    const stored: Stored<R> = { state: 'sent', ...record };
    await this.redis.set(this.key(key), JSON.stringify(stored), 'EX', this.opts.ttlSeconds);
  }

  async release(key: string, token: string): Promise<void> {
    await this.redis.eval(RELEASE, 1, this.key(key), token);
  }

  async get(key: string): Promise<R | null> {
    const raw = await this.redis.get(this.key(key));
    if (!raw) return null;
    const v = JSON.parse(raw) as Stored<R>;
    return v.state === 'sent' ? toRecord(v) : null;
  }
}

function toRecord<R>(v: Stored<R>): R {
  if (v.state !== 'sent') throw new Error('ledger entry is not a done record');
  const { state: _state, ...record } = v;
  return record as R;
}
