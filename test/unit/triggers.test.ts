import { describe, expect, it } from 'vitest';
import { anchorTrigger, compileTrigger, InvalidTriggerError, Triggers, type TriggerSpec } from '../../src/index.js';

const cron = (expression: string, timezone = 'UTC') => compileTrigger({ kind: 'cron', expression, timezone });
const at = (iso: string) => Date.parse(iso);
const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

function firesIn(trigger: ReturnType<typeof compileTrigger>, fromIso: string, toIso: string): string[] {
  const fires: string[] = [];
  for (let t = trigger.next(at(fromIso) - 1); t !== undefined && t < at(toIso); t = trigger.next(t)) fires.push(iso(t)!);
  return fires;
}

describe('cron', () => {
  it('fires "30 12 */2 * *" once in a 120-minute window, not every minute (original defect)', () => {
    expect(firesIn(cron('30 12 */2 * *'), '2026-05-03T11:30:00Z', '2026-05-03T13:30:00Z')).toEqual(['2026-05-03T12:30:00.000Z']);
    expect(firesIn(cron('30 12 */2 * *'), '2026-05-04T11:30:00Z', '2026-05-04T13:30:00Z')).toEqual([]);
  });

  it('reads 5 fields as minute-precision and 6 fields with seconds first', () => {
    expect(firesIn(cron('*/20 * * * *'), '2026-01-01T00:00:00Z', '2026-01-01T01:00:00Z')).toEqual([
      '2026-01-01T00:00:00.000Z',
      '2026-01-01T00:20:00.000Z',
      '2026-01-01T00:40:00.000Z',
    ]);
    expect(firesIn(cron('*/15 * * * * *'), '2026-01-01T00:00:00Z', '2026-01-01T00:01:00Z')).toHaveLength(4);
  });

  it('fires strictly after the given instant', () => {
    expect(iso(cron('0 * * * *').next(at('2026-01-01T05:00:00Z')))).toBe('2026-01-01T06:00:00.000Z');
  });

  it('matches either day field when both are restricted (Vixie cron), and L as the last day', () => {
    // The 13th, or any Friday, at midnight: Jan 2 2026 is a Friday.
    expect(firesIn(cron('0 0 13 * 5'), '2026-01-01T00:00:00Z', '2026-01-14T00:00:00Z')).toEqual([
      '2026-01-02T00:00:00.000Z',
      '2026-01-09T00:00:00.000Z',
      '2026-01-13T00:00:00.000Z',
    ]);
    expect(firesIn(cron('0 0 L 2 *'), '2028-01-01T00:00:00Z', '2029-01-01T00:00:00Z')).toEqual(['2028-02-29T00:00:00.000Z']);
  });

  it('ANDs the day fields when one starts with "*", as Vixie cron does (review finding)', () => {
    // "*/2" days AND Mondays: in January 2026 the odd-numbered Mondays, not every odd day.
    expect(firesIn(cron('0 0 */2 * 1'), '2026-01-01T00:00:00Z', '2026-02-01T00:00:00Z')).toEqual([
      '2026-01-05T00:00:00.000Z',
      '2026-01-19T00:00:00.000Z',
    ]);
  });

  it('accepts names and macros', () => {
    expect(iso(cron('0 9 * jan mon-fri').next(at('2026-01-03T00:00:00Z')))).toBe('2026-01-05T09:00:00.000Z');
    expect(iso(cron('@daily').next(at('2026-01-03T10:00:00Z')))).toBe('2026-01-04T00:00:00.000Z');
  });

  it('evaluates in the task time zone', () => {
    expect(iso(cron('0 9 * * *', 'Asia/Tokyo').next(at('2026-06-01T00:00:00Z')))).toBe('2026-06-02T00:00:00.000Z');
  });

  it.each([
    ['* * * *', /4 fields/],
    ['61 * * * *', /invalid cron/],
    ['0 0 30 2 *', /invalid cron "0 0 30 2 \*": Invalid explicit day of month/],
    ['0 0 ? * 1#2', /does not support/],
    ['0 0 15W * *', /does not support/],
    ['0 0 * * 5L', /only supported in the day-of-month/],
  ])('rejects "%s" with an InvalidTriggerError instead of crashing (original defect)', (expression, message) => {
    expect(() => Triggers.cronOf(expression)).toThrow(InvalidTriggerError);
    expect(() => Triggers.cronOf(expression)).toThrow(message);
  });

  it('rejects an unknown time zone', () => {
    expect(() => Triggers.cronOf('* * * * *', { timezone: 'Mars/Olympus' })).toThrow(/unknown time zone "Mars\/Olympus"/);
  });
});

describe('cron across DST (the written rule)', () => {
  it('Europe/Berlin spring forward: a time in the gap runs once at the first valid instant (03:00 CEST)', () => {
    // 2026-03-29 02:00 CET -> 03:00 CEST; 02:30 does not exist.
    expect(firesIn(cron('30 2 * * *', 'Europe/Berlin'), '2026-03-28T00:00:00Z', '2026-03-31T00:00:00Z')).toEqual([
      '2026-03-28T01:30:00.000Z', // 02:30 CET
      '2026-03-29T01:00:00.000Z', // gap: 03:00 CEST
      '2026-03-30T00:30:00.000Z', // 02:30 CEST
    ]);
  });

  it('Europe/Berlin spring forward: several gap times collapse into one fire', () => {
    expect(firesIn(cron('*/15 * * * *', 'Europe/Berlin'), '2026-03-29T00:40:00Z', '2026-03-29T01:20:00Z')).toEqual([
      '2026-03-29T00:45:00.000Z', // 01:45 CET
      '2026-03-29T01:00:00.000Z', // 02:00-02:45 and 03:00 all map to 03:00 CEST, once
      '2026-03-29T01:15:00.000Z', // 03:15 CEST
    ]);
  });

  it('Europe/Berlin fall back: a time in the overlap runs once, at its first occurrence', () => {
    // 2026-10-25 03:00 CEST -> 02:00 CET; 02:00-02:59 happens twice.
    expect(firesIn(cron('30 2 * * *', 'Europe/Berlin'), '2026-10-24T00:00:00Z', '2026-10-27T00:00:00Z')).toEqual([
      '2026-10-24T00:30:00.000Z',
      '2026-10-25T00:30:00.000Z', // first 02:30 (CEST) only
      '2026-10-26T01:30:00.000Z',
    ]);
    expect(firesIn(cron('*/20 * * * *', 'Europe/Berlin'), '2026-10-24T23:50:00Z', '2026-10-25T02:10:00Z')).toEqual([
      '2026-10-25T00:00:00.000Z', // 02:00 CEST
      '2026-10-25T00:20:00.000Z',
      '2026-10-25T00:40:00.000Z',
      // 02:00-02:40 CET (01:00-01:40Z) are repeats of local times already run
      '2026-10-25T02:00:00.000Z', // 03:00 CET
    ]);
  });

  it('America/New_York: 02:30 on spring-forward day runs at 03:00 EDT; on fall-back day once at 01:30 EDT', () => {
    expect(firesIn(cron('30 2 * * *', 'America/New_York'), '2026-03-08T00:00:00Z', '2026-03-09T00:00:00Z')).toEqual([
      '2026-03-08T07:00:00.000Z',
    ]);
    expect(firesIn(cron('30 1 * * *', 'America/New_York'), '2026-11-01T00:00:00Z', '2026-11-02T00:00:00Z')).toEqual([
      '2026-11-01T05:30:00.000Z',
    ]);
  });

  it('hourly fires stay hourly through both transitions (no gap hour repeated, no overlap hour doubled)', () => {
    const spring = firesIn(cron('0 * * * *', 'Europe/Berlin'), '2026-03-28T22:00:00Z', '2026-03-29T04:00:00Z');
    expect(spring).toHaveLength(6);
    const fall = firesIn(cron('0 * * * *', 'Europe/Berlin'), '2026-10-24T22:00:00Z', '2026-10-25T04:00:00Z');
    // 6 real hours, but the local hour 02:00 happens twice and runs once.
    expect(fall).toHaveLength(5);
  });
});

describe('every and at', () => {
  it('every: fixed rate anchored at startAt, identical for any replica that asks', () => {
    const t = compileTrigger({ kind: 'every', everyMs: 10_000, startAtMs: at('2026-01-01T00:00:00Z') });
    expect(iso(t.next(at('2026-01-01T00:00:04.999Z')))).toBe('2026-01-01T00:00:10.000Z');
    expect(iso(t.next(at('2026-01-01T00:00:10Z')))).toBe('2026-01-01T00:00:20.000Z');
    expect(iso(t.next(at('2025-01-01T00:00:00Z')))).toBe('2026-01-01T00:00:00.000Z');
  });

  it('every: stops after endAt (inclusive)', () => {
    const t = compileTrigger({ kind: 'every', everyMs: 1000, startAtMs: 0, endAtMs: 3000 });
    expect(t.next(2000)).toBe(3000);
    expect(t.next(3000)).toBeUndefined();
  });

  it('at: fires once', () => {
    const t = compileTrigger({ kind: 'at', atMs: 5000 });
    expect(t.next(0)).toBe(5000);
    expect(t.next(5000)).toBeUndefined();
  });

  it('delay helpers are anchored at publish time, not per process', () => {
    const spec = anchorTrigger(Triggers.periodOfDelay(1, 5), 1_000_000) as Extract<TriggerSpec, { kind: 'every' }>;
    expect(spec).toEqual({ kind: 'every', everyMs: 5000, startAtMs: 1_001_000 });
    expect(anchorTrigger(Triggers.onceOfDelay(30), 1_000_000)).toEqual({ kind: 'at', atMs: 1_030_000 });
  });

  it('periodOf and onceOf take absolute dates', () => {
    const start = new Date('2026-01-01T00:00:00Z');
    expect(anchorTrigger(Triggers.periodOf(start, new Date('2026-01-02T00:00:00Z'), 60), 0)).toEqual({
      kind: 'every',
      everyMs: 60_000,
      startAtMs: start.getTime(),
      endAtMs: at('2026-01-02T00:00:00Z'),
    });
    expect(anchorTrigger(Triggers.onceOf(start), 0)).toEqual({ kind: 'at', atMs: start.getTime() });
  });

  it('rejects a zero or negative period and an end before the start', () => {
    expect(() => Triggers.periodOfDelay(0, 0)).toThrow(/at least 1 ms/);
    expect(() => Triggers.periodOfDelay(-1, 5)).toThrow(/delay must be a number of seconds >= 0/);
    expect(() => Triggers.periodOf(new Date(2000), new Date(1000), 1)).toThrow(/endAt must not be before startAt/);
  });
});
