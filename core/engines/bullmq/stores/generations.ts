// Generations on Redis: `<base>:<name>:<key>` (base `<prefix>:_conveyor`, keys.ts sideBase) holds the number; advance is one Lua compare-and-
// increment (atomic), refreshing the key's TTL.
import type { Redis } from 'ioredis';
import type { Generations } from '../../../stores.ts';

const ADVANCE = `
local g = tonumber(redis.call('GET', KEYS[1]) or '0')
if g == tonumber(ARGV[1]) then
  g = g + 1
  redis.call('SET', KEYS[1], g, 'EX', ARGV[2])
end
return g
`;

export class RedisGenerations implements Generations {
  /** `redis` is borrowed: the backend owns it */
  constructor(
    private readonly redis: Redis,
    /** `<prefix>:_conveyor` (keys.ts sideBase) */
    private readonly base: string,
    private readonly opts: { name: string; ttlSeconds: number },
  ) {}

  private key(key: string) {
    return `${this.base}:${this.opts.name}:${key}`;
  }

  async read(key: string) {
    return Number((await this.redis.get(this.key(key))) ?? 0);
  }

  async advance(key: string, from: number) {
    return Number(await this.redis.eval(ADVANCE, 1, this.key(key), from, this.opts.ttlSeconds));
  }
}
