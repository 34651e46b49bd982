/**
 * Times as the viewer reads them: their own time zone (Intl), with the device's own clock
 * string available next to it — the device may sit in another zone or run a wrong clock.
 */

const fullFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
const timeFormat = new Intl.DateTimeFormat(undefined, { timeStyle: 'medium' });
const dayFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' });
const relativeFormat = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });

export const viewerTimeZone = Intl.DateTimeFormat().resolvedOptions().timeZone;

const toDate = (value) => (value instanceof Date ? value : new Date(value));
const valid = (value) => value !== null && value !== undefined && value !== '' && !Number.isNaN(toDate(value).getTime());

/** "27 Nov 2026, 09:14:03" in the viewer's zone; "—" for nothing. */
export const formatDateTime = (value) => (valid(value) ? fullFormat.format(toDate(value)) : '—');

/** Today's times as a clock, older ones with their date. */
export function formatShort(value) {
  if (!valid(value)) return '—';
  const date = toDate(value);
  return dayFormat.format(date) === dayFormat.format(new Date()) ? timeFormat.format(date) : fullFormat.format(date);
}

/** "3 minutes ago", "in 2 hours". */
export function formatRelative(value, now = Date.now()) {
  if (!valid(value)) return 'never';
  const seconds = Math.round((toDate(value).getTime() - now) / 1000);
  const units = [
    ['year', 31_536_000],
    ['month', 2_592_000],
    ['day', 86_400],
    ['hour', 3_600],
    ['minute', 60],
  ];
  for (const [unit, size] of units) {
    if (Math.abs(seconds) >= size) return relativeFormat.format(Math.trunc(seconds / size), unit);
  }
  return Math.abs(seconds) < 10 ? 'just now' : relativeFormat.format(seconds, 'second');
}

/** A datetime-local input's value (the viewer's wall clock) as an ISO instant, or ''. */
export function localInputToIso(value) {
  if (!value) return '';
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? '' : date.toISOString();
}

/** An ISO instant as a datetime-local input value in the viewer's zone. */
export function isoToLocalInput(value) {
  if (!valid(value)) return '';
  const date = toDate(value);
  const pad = (n) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}
