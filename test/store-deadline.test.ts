// The web's store deadline (core/errors/store-unavailable.ts): a call answers StoreUnavailableError at its
// deadline, unless its one atomic write is in flight (`committing`): then its answer is awaited up to half the
// deadline again, so a 503 never answers for a write that then lands. Plain promises stand for the store:
// what is under test is the timing logic itself (the real stores' side is test/chaos.test.ts).
import { describe, expect, it } from 'vitest';
import { assertWithinDeadline, committing, StoreUnavailableError, withStoreDeadline } from '../core/errors/store-unavailable.ts';
import { waitFor } from './helpers.ts';

const later = <T>(ms: number, value: T) => new Promise<T>((resolve) => setTimeout(() => resolve(value), ms));
/** wide margins: a loaded machine fires timers late */
const MS = 1_000;

function store() {
  const writes: string[] = [];
  const refused: string[] = [];
  return {
    writes,
    refused,
    /** waits `waitMs` (a pool, a slow network), then writes, which takes `writeMs` */
    async write(waitMs: number, writeMs: number, marked: boolean) {
      await later(waitMs, null);
      try {
        assertWithinDeadline('test');
      } catch (err) {
        refused.push('late');
        throw err;
      }
      const w = later(writeMs, 'stored').then((v) => {
        writes.push(v);
        return v;
      });
      return marked ? committing(w) : w;
    },
  };
}

describe('store deadline', () => {
  it('a write in flight when the deadline passes is awaited: the caller learns it was stored', async () => {
    const s = withStoreDeadline(store(), MS, 's');
    await expect(s.write(50, MS + 100, true)).resolves.toBe('stored');
  });

  it('unmarked, the same write is answered StoreUnavailableError at the deadline although it lands (the gap committing closes)', async () => {
    const raw = store();
    const s = withStoreDeadline(raw, MS, 's');
    await expect(s.write(50, MS + 100, false)).rejects.toBeInstanceOf(StoreUnavailableError);
    await waitFor(() => raw.writes.length > 0, { timeoutMs: 5_000, what: 'the write landed' });
    expect(raw.writes).toEqual(['stored']);
  });

  it('a write still unanswered after the grace is answered StoreUnavailableError saying it may be stored', async () => {
    const s = withStoreDeadline(store(), MS, 's');
    await expect(s.write(50, 3 * MS, true)).rejects.toThrow(/may be stored/);
  });

  it('a call that reaches its write after the deadline writes nothing', async () => {
    const raw = store();
    const s = withStoreDeadline(raw, MS, 's');
    const call = s.write(MS + 300, 10, true);
    await expect(call).rejects.toBeInstanceOf(StoreUnavailableError);
    // the call goes on: it reaches its write (300 ms past the deadline) and refuses it
    await waitFor(() => raw.refused.length > 0, { what: 'the late call refused its write', timeoutMs: 5_000 });
    expect(raw.writes).toEqual([]);
  });
});
