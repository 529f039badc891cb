// Slot computation, the DST rule and misfire planning, on a fake clock: every instant is a parameter.
import { describe, expect, it } from 'vitest';
import { checkSchedule } from '../scheduler/definition.ts';
import { planSlots } from '../scheduler/plan.ts';
import { type CronSpec, isValidTimezone, latestSlots, nextSlots, parseCron, slotsBetween } from '../scheduler/slots.ts';

const spec = (expr: string): CronSpec => {
  const p = parseCron(expr);
  if (!p.ok) throw new Error(p.message);
  return p.spec;
};
const at = (iso: string) => Date.parse(iso);
const isos = (ms: number[]) => ms.map((t) => new Date(t).toISOString());

describe('slots', () => {
  it('every second: one slot per second, (after, until]', () => {
    const t0 = at('2026-06-01T12:00:00.000Z');
    expect(isos(slotsBetween(spec('* * * * * *'), 'UTC', t0, t0 + 5_000))).toEqual([
      '2026-06-01T12:00:01.000Z',
      '2026-06-01T12:00:02.000Z',
      '2026-06-01T12:00:03.000Z',
      '2026-06-01T12:00:04.000Z',
      '2026-06-01T12:00:05.000Z',
    ]);
    expect(slotsBetween(spec('* * * * * *'), 'UTC', t0 + 400, t0 + 900)).toEqual([]);
  });

  it('weekdays in a timezone skip the weekend', () => {
    // Fri 2026-01-09 18:00 Berlin → Mon, Tue, Wed 09:00 CET = 08:00Z
    expect(isos(nextSlots(spec('0 9 * * MON-FRI'), 'Europe/Berlin', at('2026-01-09T17:00:00Z'), 3))).toEqual([
      '2026-01-12T08:00:00.000Z',
      '2026-01-13T08:00:00.000Z',
      '2026-01-14T08:00:00.000Z',
    ]);
  });

  it('last day of month and nth weekday', () => {
    expect(isos(nextSlots(spec('0 0 L * *'), 'UTC', at('2026-02-01T00:00:00Z'), 2))).toEqual([
      '2026-02-28T00:00:00.000Z',
      '2026-03-31T00:00:00.000Z',
    ]);
    // second Monday
    expect(isos(nextSlots(spec('0 12 * * 1#2'), 'UTC', at('2026-03-01T00:00:00Z'), 1))).toEqual(['2026-03-09T12:00:00.000Z']);
  });

  describe('DST (Europe/Berlin: 2026-03-29 02:00→03:00, 2026-10-25 03:00→02:00)', () => {
    it('spring forward: a local time in the gap fires once, at the first instant after the gap', () => {
      expect(isos(nextSlots(spec('30 2 * * *'), 'Europe/Berlin', at('2026-03-27T00:00:00Z'), 4))).toEqual([
        '2026-03-27T01:30:00.000Z', // 02:30 CET
        '2026-03-28T01:30:00.000Z',
        '2026-03-29T01:00:00.000Z', // 02:30 does not exist: 03:00 CEST
        '2026-03-30T00:30:00.000Z', // 02:30 CEST
      ]);
    });

    it('spring forward: several gap slots collapse into one, and into a slot at the gap end', () => {
      const day = [at('2026-03-28T23:00:00Z'), at('2026-03-29T22:00:00Z')] as const;
      expect(isos(slotsBetween(spec('*/15 2 * * *'), 'Europe/Berlin', ...day))).toEqual(['2026-03-29T01:00:00.000Z']);
      expect(isos(slotsBetween(spec('*/30 2,3 * * *'), 'Europe/Berlin', ...day))).toEqual([
        '2026-03-29T01:00:00.000Z',
        '2026-03-29T01:30:00.000Z',
      ]);
    });

    it('spring forward: an hourly schedule keeps real-time hours', () => {
      expect(isos(slotsBetween(spec('0 * * * *'), 'Europe/Berlin', at('2026-03-28T23:30:00Z'), at('2026-03-29T02:30:00Z')))).toEqual([
        '2026-03-29T00:00:00.000Z', // 01:00 CET
        '2026-03-29T01:00:00.000Z', // 03:00 CEST (02:00 does not exist)
        '2026-03-29T02:00:00.000Z', // 04:00 CEST
      ]);
    });

    it('fall back: a repeated local time fires once, at its first occurrence', () => {
      expect(isos(nextSlots(spec('30 2 * * *'), 'Europe/Berlin', at('2026-10-24T00:00:00Z'), 3))).toEqual([
        '2026-10-24T00:30:00.000Z', // 02:30 CEST
        '2026-10-25T00:30:00.000Z', // 02:30 CEST, first of two
        '2026-10-26T01:30:00.000Z', // 02:30 CET
      ]);
      // and the backward walk agrees
      expect(isos(latestSlots(spec('30 2 * * *'), 'Europe/Berlin', at('2026-10-23T12:00:00Z'), at('2026-10-26T12:00:00Z'), 5))).toEqual([
        '2026-10-24T00:30:00.000Z',
        '2026-10-25T00:30:00.000Z',
        '2026-10-26T01:30:00.000Z',
      ]);
    });

    it('fall back: a schedule for every hour follows real time through both occurrences', () => {
      expect(isos(slotsBetween(spec('0 * * * *'), 'Europe/Berlin', at('2026-10-24T22:30:00Z'), at('2026-10-25T02:30:00Z')))).toEqual([
        '2026-10-24T23:00:00.000Z', // 01:00 CEST
        '2026-10-25T00:00:00.000Z', // 02:00 CEST
        '2026-10-25T01:00:00.000Z', // 02:00 CET
        '2026-10-25T02:00:00.000Z', // 03:00 CET
      ]);
    });
  });

  it('DST in America/New_York (2026-03-08 and 2026-11-01)', () => {
    expect(isos(slotsBetween(spec('30 2 * * *'), 'America/New_York', at('2026-03-08T00:00:00Z'), at('2026-03-09T00:00:00Z')))).toEqual([
      '2026-03-08T07:00:00.000Z', // 03:00 EDT
    ]);
    expect(isos(slotsBetween(spec('30 1 * * *'), 'America/New_York', at('2026-11-01T00:00:00Z'), at('2026-11-02T00:00:00Z')))).toEqual([
      '2026-11-01T05:30:00.000Z', // 01:30 EDT (first), not 06:30Z (EST)
    ]);
  });

  it('a 30-minute DST shift (Australia/Lord_Howe, 2026-10-04 02:00→02:30)', () => {
    expect(isos(slotsBetween(spec('15 2 * * *'), 'Australia/Lord_Howe', at('2026-10-03T12:00:00Z'), at('2026-10-04T12:00:00Z')))).toEqual([
      '2026-10-03T15:30:00.000Z', // 02:30 +11:00, the first instant after the gap
    ]);
  });

  it('latestSlots is the tail of slotsBetween', () => {
    const s = spec('*/7 */5 * * * *');
    const from = at('2026-10-24T20:00:00Z');
    const to = at('2026-10-25T04:00:00Z');
    const all = slotsBetween(s, 'Europe/Berlin', from, to);
    expect(all.length).toBeGreaterThan(100);
    expect(latestSlots(s, 'Europe/Berlin', from, to, 17)).toEqual(all.slice(-17));
  });

  it('rejects bad expressions and zones with a reason', () => {
    const bad = parseCron('61 * * * *');
    expect(bad.ok).toBe(false);
    expect(!bad.ok && bad.message).toMatch(/minute/);
    expect(parseCron('* * *').ok).toBe(false);
    expect(isValidTimezone('Europe/Berlin')).toBe(true);
    expect(isValidTimezone('Mars/Olympus')).toBe(false);
    expect(isValidTimezone('+02:00')).toBe(false);
  });
});

describe('misfire plan', () => {
  const every = spec('0 * * * * *'); // every minute
  const t0 = at('2026-06-01T12:00:00Z');
  const base = { spec: every, timezone: 'UTC', notBeforeMs: 0, toleranceMs: 60_000 };

  it('on time: the current slot only', () => {
    const p = planSlots({ ...base, misfire: { policy: 'skip', max: 100 }, lastSlotMs: t0, nowMs: t0 + 60_000 + 30 });
    expect(isos(p.enqueue)).toEqual(['2026-06-01T12:01:00.000Z']);
    expect(p.skipped).toBe(0);
    expect(p.latest).toBe(t0 + 60_000);
  });

  it('nothing due: no plan, nothing recorded', () => {
    const p = planSlots({ ...base, misfire: { policy: 'all', max: 100 }, lastSlotMs: t0, nowMs: t0 + 59_000 });
    expect(p).toEqual({ enqueue: [], skipped: 0, latest: null });
  });

  it('after 10 minutes down: skip / once / all with a cap', () => {
    const now = t0 + 10 * 60_000 + 500; // 12:10:00.5; tolerance 60 s → 12:09:00.5 is the late line
    const skip = planSlots({ ...base, misfire: { policy: 'skip', max: 100 }, lastSlotMs: t0, nowMs: now });
    expect(isos(skip.enqueue)).toEqual(['2026-06-01T12:10:00.000Z']);
    expect(skip.skipped).toBe(9); // 12:01 … 12:09
    expect(skip.latest).toBe(t0 + 10 * 60_000);

    const once = planSlots({ ...base, misfire: { policy: 'once', max: 100 }, lastSlotMs: t0, nowMs: now });
    expect(isos(once.enqueue)).toEqual(['2026-06-01T12:09:00.000Z', '2026-06-01T12:10:00.000Z']);
    expect(once.skipped).toBe(8);

    const all = planSlots({ ...base, misfire: { policy: 'all', max: 3 }, lastSlotMs: t0, nowMs: now });
    expect(isos(all.enqueue)).toEqual([
      '2026-06-01T12:07:00.000Z',
      '2026-06-01T12:08:00.000Z',
      '2026-06-01T12:09:00.000Z',
      '2026-06-01T12:10:00.000Z',
    ]);
    expect(all.skipped).toBe(6);

    const allUncapped = planSlots({ ...base, misfire: { policy: 'all', max: 100 }, lastSlotMs: t0, nowMs: now });
    expect(allUncapped.enqueue).toHaveLength(10);
    expect(allUncapped.skipped).toBe(0);
  });

  it('slots before notBefore (created, replaced or resumed then) never fire', () => {
    const p = planSlots({
      ...base,
      misfire: { policy: 'all', max: 100 },
      lastSlotMs: null,
      notBeforeMs: t0 + 5 * 60_000 + 1,
      nowMs: t0 + 10 * 60_000,
    });
    expect(isos(p.enqueue)[0]).toBe('2026-06-01T12:06:00.000Z');
    expect(p.enqueue).toHaveLength(5);
  });
});

describe('schedule definitions', () => {
  it('names each invalid field', () => {
    const r = checkSchedule(
      'Bad:Name',
      { cron: '99 * * * *', timezone: 'Nowhere/City', job: { name: 'diagnostics.sleep', data: { ms: -1 } } },
      0,
    );
    expect(r.ok).toBe(false);
    const paths = !r.ok ? r.details.map((d) => d.path) : [];
    expect(paths).toEqual(expect.arrayContaining(['name', 'cron', 'timezone', 'job.data.ms']));
  });

  it('refuses an idempotency key (each slot has its own id) and an unknown kind', () => {
    const a = checkSchedule('a', { cron: '* * * * *', job: { name: 'diagnostics.noop', options: { idempotencyKey: 'k' } } }, 0);
    expect(!a.ok && a.details.map((d) => d.path)).toEqual(['job.options.idempotencyKey']);
    const b = checkSchedule('b', { cron: '* * * * *', job: { name: 'nope.nothing' } }, 0);
    expect(!b.ok && b.details.map((d) => d.path)).toEqual(['job.name']);
  });

  it('fills defaults', () => {
    const r = checkSchedule('ok', { cron: '*/5 * * * * *', job: { name: 'diagnostics.noop' } }, 42);
    expect(r.ok && r.schedule).toMatchObject({ timezone: 'UTC', misfire: { policy: 'skip', max: 100 }, enabled: true, notBeforeMs: 42 });
  });
});
