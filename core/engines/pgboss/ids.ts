// pg-boss job ids are UUIDs; ours may be any string (the scheduler's `schedule-x-1000`, an idempotency
// key). A non-UUID id maps to a name-based UUID (SHA-256, RFC 9562 version 8), so the same string always
// finds the same row and a repeat collides on pg-boss's (name, id) primary key instead of making a second job.
import { createHash } from 'node:crypto';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const isUuid = (s: string) => UUID.test(s);

/** Deterministic UUID for any string (a UUID maps to itself, lowercased). */
export function toUuid(id: string): string {
  if (isUuid(id)) return id.toLowerCase();
  const h = createHash('sha256').update(id).digest();
  h[6] = ((h[6] as number) & 0x0f) | 0x80; // version 8 (custom)
  h[8] = ((h[8] as number) & 0x3f) | 0x80; // RFC variant
  const hex = h.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/** The id of the job an idempotency key names (per job kind). */
export const idempotencyUuid = (kind: string, key: string) => toUuid(`idem\0${kind}\0${key}`);
