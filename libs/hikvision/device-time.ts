/**
 * Device clocks: `dateTime` arrives as `2025-04-06T14:16:04+08:00`, with `Z`, with milliseconds,
 * with `-5:00` or `+0800`, without any offset, or broken (`2024-01-22T11:47:1500:00`).
 * A UTC instant is produced only when the value is unambiguous: it carries an offset, or the
 * caller says how to read local times (an IANA zone or a fixed ±HH:MM offset).
 */

const DEVICE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:[.,](\d{1,9}))?(Z|[+-]\d{1,2}:\d{2}|[+-]\d{4}|[+-]\d{2})?$/i;

const OFFSET = /^(?:(Z|UTC|GMT)|([+-])(\d{1,2}):?(\d{2})?)$/i;

/** Largest real-world offset is +14:00; anything beyond is a corrupted value. */
const MAX_OFFSET_MINUTES = 14 * 60;

interface WallClock {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  millisecond: number;
}

/**
 * Returns the UTC instant of a device `dateTime`, or null when it is missing, broken, or has no
 * offset and no usable `timeZone`. Never throws.
 *
 * In a DST overlap the earlier instant is chosen; a wall time inside a DST gap is moved forward
 * by the gap (the same choice as Temporal's "compatible" disambiguation).
 */
export function resolveDeviceTime(raw: string | null, timeZone?: string): Date | null {
  try {
    if (raw === null) return null;
    const match = DEVICE_TIME.exec(raw.trim());
    if (!match) return null;
    const [, y, mo, d, h, mi, s, fraction, offset] = match;
    const wall: WallClock = {
      year: Number(y),
      month: Number(mo),
      day: Number(d),
      hour: Number(h),
      minute: Number(mi),
      second: Number(s),
      millisecond: fraction ? Number(fraction.slice(0, 3).padEnd(3, '0')) : 0,
    };
    if (!isValidWallClock(wall)) return null;
    const asUtc = wallClockAsUtc(wall);

    if (offset !== undefined) {
      const minutes = parseOffsetMinutes(offset);
      return minutes === null ? null : new Date(asUtc - minutes * 60_000);
    }
    if (timeZone === undefined || timeZone.trim() === '') return null;
    const fixed = parseOffsetMinutes(timeZone.trim());
    if (fixed !== null) return new Date(asUtc - fixed * 60_000);
    return zonedWallClockToInstant(asUtc, timeZone.trim());
  } catch {
    return null;
  }
}

/** `Z`, `+08:00`, `-5:00`, `+0800`, `+08` → minutes east of UTC; null when malformed or out of range. */
export function parseOffsetMinutes(text: string): number | null {
  const match = OFFSET.exec(text);
  if (!match) return null;
  if (match[1] !== undefined) return 0;
  const sign = match[2] === '-' ? -1 : 1;
  const hours = Number(match[3]);
  const minutes = match[4] === undefined ? 0 : Number(match[4]);
  if (minutes > 59) return null;
  const total = hours * 60 + minutes;
  if (total > MAX_OFFSET_MINUTES) return null;
  return sign * total;
}

function isValidWallClock(w: WallClock): boolean {
  if (w.year < 1970 || w.year > 2999) return false;
  if (w.month < 1 || w.month > 12) return false;
  if (w.day < 1 || w.day > daysInMonth(w.year, w.month)) return false;
  return w.hour <= 23 && w.minute <= 59 && w.second <= 59;
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

function wallClockAsUtc(w: WallClock): number {
  return Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second, w.millisecond);
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (!formatter) {
    // Throws RangeError for an unknown zone; the caller turns that into null.
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(timeZone, formatter);
  }
  return formatter;
}

/** Offset of the IANA zone `timeZone` at `instant`, in milliseconds east of UTC. */
export function zoneOffsetMs(timeZone: string, instant: number): number {
  const parts: Record<string, number> = {};
  for (const part of formatterFor(timeZone).formatToParts(new Date(instant))) {
    if (part.type !== 'literal') parts[part.type] = Number(part.value);
  }
  const local = Date.UTC(
    parts.year ?? 1970,
    (parts.month ?? 1) - 1,
    parts.day ?? 1,
    parts.hour ?? 0,
    parts.minute ?? 0,
    parts.second ?? 0,
  );
  const wholeSecond = instant - (((instant % 1000) + 1000) % 1000);
  return local - wholeSecond;
}

const DAY_MS = 86_400_000;

function zonedWallClockToInstant(wallAsUtc: number, timeZone: string): Date | null {
  const before = zoneOffsetMs(timeZone, wallAsUtc - DAY_MS);
  const after = zoneOffsetMs(timeZone, wallAsUtc + DAY_MS);
  const candidates = [wallAsUtc - before, wallAsUtc - after].filter(
    (instant) => wallAsUtc - zoneOffsetMs(timeZone, instant) === instant,
  );
  if (candidates.length > 0) return new Date(Math.min(...candidates));
  // In a gap: read the wall time with the offset in force before the transition.
  return new Date(wallAsUtc - before);
}
