import { InvalidTriggerError } from '../errors.js';

/**
 * Wall-clock arithmetic in IANA zones without a date library. A "wall" value is the local
 * calendar time encoded as if it were UTC milliseconds, so calendar steps are plain Date.UTC math;
 * converting a wall value back to instants is where DST gaps (no instant) and overlaps (two) show up.
 */
export interface WallTime {
  year: number;
  month: number; // 1-12
  day: number;
  hour: number;
  minute: number;
  second: number;
}

const HOUR = 3_600_000;
const formatters = new Map<string, Intl.DateTimeFormat>();

export function assertTimeZone(zone: string): void {
  try {
    formatterFor(zone);
  } catch {
    throw new InvalidTriggerError(`unknown time zone "${zone}": use an IANA name such as UTC or Europe/Berlin`);
  }
}

function formatterFor(zone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(zone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(zone, formatter);
  }
  return formatter;
}

const isUtc = (zone: string): boolean => zone === 'UTC' || zone === 'Etc/UTC';

export function wallOf(instantMs: number, zone: string): WallTime {
  if (isUtc(zone)) return wallFromMs(instantMs);
  const parts = formatterFor(zone).formatToParts(new Date(instantMs));
  const get = (type: Intl.DateTimeFormatPartTypes): number => {
    const part = parts.find((p) => p.type === type);
    return part ? Number(part.value) : 0;
  };
  return { year: get('year'), month: get('month'), day: get('day'), hour: get('hour'), minute: get('minute'), second: get('second') };
}

export function wallToMs(w: WallTime): number {
  return Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
}

export function wallFromMs(wallMs: number): WallTime {
  const d = new Date(wallMs);
  return {
    year: d.getUTCFullYear(),
    month: d.getUTCMonth() + 1,
    day: d.getUTCDate(),
    hour: d.getUTCHours(),
    minute: d.getUTCMinutes(),
    second: d.getUTCSeconds(),
  };
}

/** Local offset (wall − instant) in force at an instant, at second precision. */
function offsetAt(instantMs: number, zone: string): number {
  const whole = Math.floor(instantMs / 1000) * 1000;
  return wallToMs(wallOf(whole, zone)) - whole;
}

/** The instants whose local time is `wallMs`: one normally, none in a DST gap, two in an overlap. */
export function instantsOfWall(wallMs: number, zone: string): number[] {
  if (isUtc(zone)) return [wallMs];
  const candidates = new Set<number>();
  for (const probe of [wallMs - 14 * HOUR, wallMs, wallMs + 14 * HOUR]) {
    candidates.add(wallMs - offsetAt(probe - offsetAt(probe, zone), zone));
  }
  return [...candidates].filter((c) => wallToMs(wallOf(c, zone)) === wallMs).sort((a, b) => a - b);
}

/**
 * The instant a wall time maps to under taskino's DST rule: the earlier instant of an overlap
 * (so it runs once), or for a time inside a spring-forward gap the first valid instant after the
 * gap, i.e. the transition itself.
 */
export function firstInstantOfWall(wallMs: number, zone: string): number {
  const instants = instantsOfWall(wallMs, zone);
  if (instants[0] !== undefined) return instants[0];
  // In a gap: every instant before the transition shows a wall time earlier than wallMs and
  // every instant from it on shows a later one. Bisect for the transition.
  let low = wallMs - offsetAt(wallMs - 14 * HOUR, zone) - 14 * HOUR;
  let high = wallMs - offsetAt(wallMs + 14 * HOUR, zone) + 14 * HOUR;
  while (high - low > 1000) {
    const mid = Math.floor((low + high) / 2000) * 1000;
    if (wallToMs(wallOf(mid, zone)) < wallMs) low = mid;
    else high = mid;
  }
  return high;
}
