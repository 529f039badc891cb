// Where the BullMQ engine's keys live, standalone or on Redis Cluster (REDIS_CLUSTER=1; docs/bullmq-layout.md,
// docs/scale-out.md). Redis Cluster runs a multi-key command or Lua script only when every key hashes to one
// slot, and BullMQ's scripts touch many keys of one queue: so on a cluster each queue gets its own hash tag,
// `{<queue>}` in its BullMQ prefix (BullMQ's documented `{prefix}` pattern, per queue), and its dead-letter
// queue the same tag, so the worker's dead-lettering stays on one shard. Our own side stores (schedules,
// idempotency records, ledgers, throughput buckets, audit, rate limits) share the tag `{_conveyor}`: their
// MULTIs and scripts never mix keys of two tags. Standalone keeps the untagged layout of earlier versions.
import { dlqName } from '../shared.ts';

export interface KeyLayout {
  /** QUEUE_PREFIX */
  prefix: string;
  /** REDIS_CLUSTER: hash-tag every queue and the side stores */
  cluster: boolean;
}

const DLQ_SUFFIX = dlqName('');

/** The queue a (dead-letter) queue belongs to: `default-dlq` → `default`. */
const owner = (queue: string) => (queue.endsWith(DLQ_SUFFIX) ? queue.slice(0, -DLQ_SUFFIX.length) : queue);

/** The BullMQ `prefix` option of `queue`: its keys are `<queuePrefix>:<queue>:*`. */
export function queuePrefix(layout: KeyLayout, queue: string): string {
  return layout.cluster ? `${layout.prefix}:{${owner(queue)}}` : layout.prefix;
}

/** The base of our own keys: `<prefix>:_conveyor`, on a cluster `<prefix>:{_conveyor}` (one slot). */
export function sideBase(layout: KeyLayout): string {
  return layout.cluster ? `${layout.prefix}:{_conveyor}` : `${layout.prefix}:_conveyor`;
}
