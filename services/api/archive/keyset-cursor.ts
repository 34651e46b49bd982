import { sql } from 'kysely';
import { badRequest } from '../errors.js';

/**
 * The opaque cursor of the keyset-paged lists (events, quarantine): base64url JSON of the last
 * row's exact time (microseconds, UTC, as Postgres prints it) and id. A tampered cursor must be
 * a 400, so the time is checked to be a real instant (no February 30th, no hour 99) before it
 * ever reaches `::timestamptz`, where it would be a database error.
 */
export interface KeysetPosition {
  /** `YYYY-MM-DDTHH:MM:SS.ffffffZ`, microseconds kept (JavaScript dates keep only milliseconds). */
  key: string;
  id: string;
}

/** The exact time of `column` as a cursor key. */
export const keysetKey = (column: string) => sql<string>`to_char(${sql.ref(column)} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

const KEY_FORMAT = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\.\d{6}Z$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Whether the key names an instant Postgres accepts: it parses, and reads back unchanged (no rollover), year 1 or later. */
function isRealInstant(key: string): boolean {
  const seconds = KEY_FORMAT.exec(key)?.[1];
  if (!seconds) return false;
  const time = Date.parse(`${seconds}Z`);
  return Number.isFinite(time) && !seconds.startsWith('0000') && new Date(time).toISOString().slice(0, 19) === seconds;
}

export function encodeKeysetCursor(position: KeysetPosition): string {
  return Buffer.from(JSON.stringify([position.key, position.id])).toString('base64url');
}

export function decodeKeysetCursor(cursor: string): KeysetPosition {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(value) && typeof value[0] === 'string' && isRealInstant(value[0]) && typeof value[1] === 'string' && UUID.test(value[1])) {
      return { key: value[0], id: value[1] };
    }
  } catch {
    // falls through to the 400 below
  }
  throw badRequest('invalid query: cursor: not a cursor from nextCursor', { issues: [{ path: 'cursor', message: 'not a cursor from nextCursor' }] });
}
