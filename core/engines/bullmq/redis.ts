// Our one Redis connection factory. Every role gets its own connection: producers, workers,
// the dashboard and pub/sub never share one (a blocking worker call must not stall an HTTP request).
import { Cluster, Redis, type RedisOptions } from 'ioredis';

export type RedisRole = 'producer' | 'writer' | 'worker' | 'subscriber' | 'web' | 'dashboard' | 'scheduler' | 'stores' | 'probe';

/** REDIS_URL, and REDIS_CLUSTER: the URL then names one node of a Redis Cluster (the rest are discovered). */
export interface RedisTarget {
  url: string;
  cluster?: boolean;
}

/**
 * A connection for `role`. On a cluster it is an ioredis `Cluster` (same command API; BullMQ takes either),
 * typed as `Redis` so the code above needs no second type: only SCAN and KEYS differ (per node), and none of
 * our production paths uses them.
 */
export function createRedis(target: string | RedisTarget, role: RedisRole, extra: RedisOptions = {}): Redis {
  const { url, cluster } = typeof target === 'string' ? { url: target, cluster: false } : target;
  const options = nodeOptions(role, extra);
  if (!cluster) return new Redis(url, options);
  const u = new URL(url);
  const redisOptions: RedisOptions = {
    ...options,
    username: decodeURIComponent(u.username) || undefined,
    password: decodeURIComponent(u.password) || undefined,
    tls: u.protocol === 'rediss:' ? {} : undefined,
  };
  return new Cluster([{ host: u.hostname, port: Number(u.port || 6379) }], {
    redisOptions,
    enableReadyCheck: true,
    lazyConnect: extra.lazyConnect ?? false,
    // the writer queues nothing while the cluster is away either (nodeOptions)
    enableOfflineQueue: options.enableOfflineQueue ?? true,
    clusterRetryStrategy: options.retryStrategy,
  }) as unknown as Redis;
}

function nodeOptions(role: RedisRole, extra: RedisOptions): RedisOptions {
  const blocking = role === 'worker' || role === 'subscriber';
  // The enqueue writer fails fast: a command is sent now or refused now, never queued while Redis is away
  // and never re-sent after a reconnect, so an enqueue answered 503 cannot be stored later (docs/reliability.md).
  const writer: RedisOptions = role === 'writer' ? { enableOfflineQueue: false, autoResendUnfulfilledCommands: false } : {};
  return {
    ...writer,
    connectionName: `conveyor:${role}`,
    // BullMQ workers need null (blocking commands); producers fail fast instead of queueing forever.
    maxRetriesPerRequest: blocking ? null : 3,
    enableReadyCheck: true,
    connectTimeout: 5_000,
    retryStrategy: (times) => Math.min(2_000, 50 * 2 ** Math.min(times, 6)),
    ...extra,
  };
}

/** True when a Redis server answers PING at `url` within `timeoutMs`. */
export async function redisAnswers(url: string, timeoutMs = 1_500): Promise<boolean> {
  const probe = createRedis(url, 'probe', {
    lazyConnect: true,
    retryStrategy: () => null,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
  });
  probe.on('error', () => {});
  try {
    await probe.connect();
    return (await probe.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    probe.disconnect();
  }
}

/** Delete every key under `<prefix>:` (test and benchmark clean-up; SCAN, never KEYS). */
export async function deleteKeysWithPrefix(url: string, prefix: string): Promise<void> {
  const r = createRedis(url, 'probe');
  try {
    let cursor = '0';
    do {
      const [next, keys] = await r.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 5000);
      cursor = next;
      if (keys.length) await r.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    r.disconnect();
  }
}
