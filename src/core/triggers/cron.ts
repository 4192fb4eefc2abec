import { CronExpressionParser } from 'cron-parser';
import { InvalidTriggerError } from '../errors.js';
import { assertTimeZone, firstInstantOfWall, wallFromMs, wallOf, wallToMs, type WallTime } from './zoned-time.js';

const MACROS: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

/** How far ahead to look for a match before deciding an expression never fires (e.g. "0 0 30 2 *"). */
const SEARCH_YEARS = 8;

interface CronFields {
  seconds: number[];
  minutes: number[];
  hours: number[];
  months: Set<number>;
  daysOfMonth: Set<number>;
  lastDayOfMonth: boolean;
  daysOfWeek: Set<number>;
  /** The field starts with "*" or is "?": Vixie cron then ANDs the day fields instead of ORing them. */
  dayOfMonthStar: boolean;
  dayOfWeekStar: boolean;
}

/**
 * A parsed cron expression evaluated on local wall time in one zone. cron-parser does the parsing;
 * the search is ours because its own iteration repeats fires inside a fall-back overlap and places
 * spring-forward gap times an hour late, and our DST rule must hold on every replica.
 */
export class CronSchedule {
  readonly expression: string;
  readonly timezone: string;
  private readonly fields: CronFields;

  constructor(expression: string, timezone = 'UTC') {
    this.expression = expression;
    this.timezone = timezone;
    assertTimeZone(timezone);
    this.fields = parseFields(expression);
    if (this.nextAfter(Date.UTC(2000, 0, 1)) === undefined) {
      throw new InvalidTriggerError(`cron "${expression}" never fires: no date matches every field`);
    }
  }

  /** The first fire strictly after `afterMs`, or undefined when there is none within the search horizon. */
  nextAfter(afterMs: number): number | undefined {
    const start = wallToMs(wallOf(afterMs, this.timezone));
    const horizon = start + SEARCH_YEARS * 366 * 86_400_000;
    let wall = Math.floor(start / 1000) * 1000 + 1000;
    while (wall <= horizon) {
      const match = this.nextMatchingWall(wall, horizon);
      if (match === undefined) return undefined;
      const instant = firstInstantOfWall(match, this.timezone);
      if (instant > afterMs) return instant;
      // The wall time's first occurrence is already past (second pass through an overlap): skip it.
      wall = match + 1000;
    }
    return undefined;
  }

  matchesWall(w: WallTime): boolean {
    const f = this.fields;
    return (
      f.months.has(w.month) &&
      this.dayMatches(w) &&
      f.hours.includes(w.hour) &&
      f.minutes.includes(w.minute) &&
      f.seconds.includes(w.second)
    );
  }

  private nextMatchingWall(fromWall: number, horizon: number): number | undefined {
    const f = this.fields;
    let w = wallFromMs(fromWall);
    while (wallToMs(w) <= horizon) {
      if (!f.months.has(w.month)) {
        w = wallFromMs(Date.UTC(w.year, w.month, 1));
        continue;
      }
      if (!this.dayMatches(w)) {
        w = wallFromMs(Date.UTC(w.year, w.month - 1, w.day + 1));
        continue;
      }
      const hour = firstAtLeast(f.hours, w.hour);
      if (hour === undefined) {
        w = wallFromMs(Date.UTC(w.year, w.month - 1, w.day + 1));
        continue;
      }
      if (hour !== w.hour) {
        w = { ...w, hour, minute: 0, second: 0 };
      }
      const minute = firstAtLeast(f.minutes, w.minute);
      if (minute === undefined) {
        w = wallFromMs(Date.UTC(w.year, w.month - 1, w.day, w.hour + 1));
        continue;
      }
      if (minute !== w.minute) {
        w = { ...w, minute, second: 0 };
      }
      const second = firstAtLeast(f.seconds, w.second);
      if (second === undefined) {
        w = wallFromMs(Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute + 1));
        continue;
      }
      return wallToMs({ ...w, second });
    }
    return undefined;
  }

  private dayMatches(w: WallTime): boolean {
    const f = this.fields;
    const lastDay = new Date(Date.UTC(w.year, w.month, 0)).getUTCDate();
    const byMonthDay = f.daysOfMonth.has(w.day) || (f.lastDayOfMonth && w.day === lastDay);
    const byWeekDay = f.daysOfWeek.has(new Date(Date.UTC(w.year, w.month - 1, w.day)).getUTCDay());
    // Vixie cron: when neither day field starts with "*", a day matching either one fires;
    // otherwise both must match ("*" and "*/2" expand to their days, so AND is right there).
    if (f.dayOfMonthStar || f.dayOfWeekStar) return byMonthDay && byWeekDay;
    return byMonthDay || byWeekDay;
  }
}

function firstAtLeast(sorted: number[], value: number): number | undefined {
  for (const v of sorted) if (v >= value) return v;
  return undefined;
}

function parseFields(expression: string): CronFields {
  const trimmed = expression.trim();
  const text = MACROS[trimmed] ?? trimmed;
  const parts = text.split(/\s+/);
  if (parts.length !== 5 && parts.length !== 6) {
    throw new InvalidTriggerError(
      `cron "${expression}" has ${parts.length} fields: use 5 (minute hour day-of-month month day-of-week) or 6 (seconds first)`,
    );
  }
  const withoutNames = text.replace(/jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec|sun|mon|tue|wed|thu|fri|sat/gi, '');
  if (/[#WH]/i.test(withoutNames)) {
    throw new InvalidTriggerError(
      `cron "${expression}" uses "#", "W" or "H", which taskino does not support: use numbers, names, ranges, lists, steps, "*", "?" and "L" in day-of-month`,
    );
  }
  const withSeconds = parts.length === 6 ? parts : ['0', ...parts];
  const dayOfMonthText = withSeconds[3] ?? '*';
  const dayOfWeekText = withSeconds[5] ?? '*';
  if (/l/i.test(dayOfWeekText)) {
    throw new InvalidTriggerError(`cron "${expression}": "L" is only supported in the day-of-month field`);
  }
  let parsed;
  try {
    parsed = CronExpressionParser.parse(withSeconds.join(' '));
  } catch (error) {
    throw new InvalidTriggerError(`invalid cron "${expression}": ${(error as Error).message}`);
  }
  const f = parsed.fields;
  const domValues = f.dayOfMonth.values as Array<number | string>;
  return {
    seconds: [...f.second.values].map(Number).sort((a, b) => a - b),
    minutes: [...f.minute.values].map(Number).sort((a, b) => a - b),
    hours: [...f.hour.values].map(Number).sort((a, b) => a - b),
    months: new Set(f.month.values.map(Number)),
    daysOfMonth: new Set(domValues.filter((v): v is number => typeof v === 'number')),
    lastDayOfMonth: domValues.includes('L'),
    daysOfWeek: new Set((f.dayOfWeek.values as Array<number | string>).map((v) => Number(v) % 7)),
    dayOfMonthStar: dayOfMonthText.startsWith('*') || dayOfMonthText === '?',
    dayOfWeekStar: dayOfWeekText.startsWith('*') || dayOfWeekText === '?',
  };
}
