import { z } from 'zod';
import { EVENT_FAMILIES } from '../../../libs/hikvision/event-model.js';

/**
 * The filters every events endpoint shares (list, stream, CSV export), parsed from the query
 * string. Unknown parameters are refused, so a misspelt filter is a 400, never silently ignored.
 */
export interface EventFilter {
  from?: Date;
  to?: Date;
  deviceId?: string;
  eventType?: string;
  family?: string;
  employeeNo?: string;
  name?: string;
  plate?: string;
  hasPicture?: boolean;
}

const isoInstant = z.iso
  .datetime({ offset: true, error: 'expected an ISO 8601 date-time with an offset, e.g. 2025-01-31T08:00:00Z' })
  .transform((text) => new Date(text));
// Postgres text cannot hold NUL: refused here, with the parameter named, rather than failing in SQL.
const text = (max: number) =>
  z.string().trim().min(1, 'must not be empty').max(max, `at most ${max} characters`).refine((value) => !value.includes('\0'), 'must not contain a NUL character');

export const eventFilterShape = {
  from: isoInstant.optional(),
  to: isoInstant.optional(),
  /** An observed device (the archive's `devices.id`), not a managed device. */
  deviceId: z.string().regex(/^[1-9]\d{0,17}$/, 'expected an observed device id (digits)').optional(),
  eventType: text(128).optional(),
  family: z.enum(EVENT_FAMILIES, { error: `expected one of ${EVENT_FAMILIES.join(', ')}` }).optional(),
  employeeNo: text(64).optional(),
  name: text(128).optional(),
  plate: text(32).optional(),
  hasPicture: z.enum(['true', 'false'], { error: 'expected true or false' }).transform((value) => value === 'true').optional(),
};

const rangeInOrder = (value: { from?: Date; to?: Date }) => !value.from || !value.to || value.to > value.from;
const rangeIssue = { message: 'must be after from', path: ['to'] };

export const listEventsQuerySchema = z
  .strictObject({
    ...eventFilterShape,
    limit: z.coerce.number().int('expected an integer').min(1, 'expected 1–500').max(500, 'expected 1–500').default(50),
    cursor: z.string().max(200, 'not a cursor from nextCursor').optional(),
  })
  .refine(rangeInOrder, rangeIssue);

export const streamEventsQuerySchema = z
  .strictObject({ ...eventFilterShape, since: z.uuid({ error: 'expected an event id' }).optional() })
  .refine(rangeInOrder, rangeIssue);

export const exportEventsQuerySchema = z.strictObject(eventFilterShape).refine(rangeInOrder, rangeIssue);

export function pickFilter(query: EventFilter): EventFilter {
  const { from, to, deviceId, eventType, family, employeeNo, name, plate, hasPicture } = query;
  return Object.fromEntries(Object.entries({ from, to, deviceId, eventType, family, employeeNo, name, plate, hasPicture }).filter(([, value]) => value !== undefined));
}

/** What the live stream needs to decide in memory which clients an archived event goes to. */
export interface MatchableEvent {
  receivedAt: Date;
  deviceId: string | null;
  eventType: string | null;
  eventFamily: string;
  employeeNo: string | null;
  personName: string | null;
  licensePlate: string | null;
  pictureCount: number;
}

/** The same rules as the SQL in event-query.ts, for events already loaded (live stream fan-out). */
export function matchesFilter(event: MatchableEvent, filter: EventFilter): boolean {
  if (filter.from && event.receivedAt < filter.from) return false;
  if (filter.to && event.receivedAt >= filter.to) return false;
  if (filter.deviceId !== undefined && event.deviceId !== filter.deviceId) return false;
  if (filter.eventType !== undefined && event.eventType !== filter.eventType) return false;
  if (filter.family !== undefined && event.eventFamily !== filter.family) return false;
  if (filter.employeeNo !== undefined && event.employeeNo !== filter.employeeNo) return false;
  if (filter.name !== undefined && !(event.personName ?? '').toLowerCase().includes(filter.name.toLowerCase())) return false;
  if (filter.plate !== undefined && (event.licensePlate ?? '').toUpperCase() !== filter.plate.toUpperCase()) return false;
  if (filter.hasPicture !== undefined && event.pictureCount > 0 !== filter.hasPicture) return false;
  return true;
}
