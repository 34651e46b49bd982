import { localInputToIso } from './time.js';

/**
 * The live feed's filters live in the page URL (so a filtered view can be reloaded, bookmarked
 * and shared); the API gets them with the time range as ISO instants.
 */

export const FILTER_KEYS = ['from', 'to', 'deviceId', 'eventType', 'employeeNo', 'name', 'plate', 'hasPicture'];

/** From `?name=ana&from=2026-11-27T08:00` (datetime-local values, the viewer's wall clock). */
export function filtersFromSearch(search) {
  const params = new URLSearchParams(search);
  return Object.fromEntries(FILTER_KEYS.map((key) => [key, params.get(key) ?? '']));
}

export function searchFromFilters(filters) {
  const params = new URLSearchParams();
  for (const key of FILTER_KEYS) if (filters[key]) params.set(key, filters[key]);
  const text = params.toString();
  return text ? `?${text}` : '';
}

/** The API's query parameters for these filters. */
export function apiParams(filters) {
  return {
    from: localInputToIso(filters.from),
    to: localInputToIso(filters.to),
    deviceId: filters.deviceId,
    eventType: filters.eventType,
    employeeNo: filters.employeeNo.trim(),
    name: filters.name.trim(),
    plate: filters.plate.trim(),
    hasPicture: filters.hasPicture,
  };
}

export const anyFilter = (filters) => FILTER_KEYS.some((key) => filters[key]);

/** Newest first by receivedAt, then id (ids are time-ordered UUIDv7), without duplicates. */
export function mergeEvents(current, incoming) {
  const byId = new Map(current.map((event) => [event.id, event]));
  for (const event of incoming) byId.set(event.id, event);
  return [...byId.values()].sort((a, b) => (a.receivedAt === b.receivedAt ? (a.id < b.id ? 1 : -1) : a.receivedAt < b.receivedAt ? 1 : -1));
}
