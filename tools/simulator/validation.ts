import { fail } from './error-tuples.js';
import type { RequestContext } from './routing.js';
import type { JsonObject } from './store.js';

/** Request checks shared by the AccessControl and FDLib handlers; each throws the device's error. */

/** The range one firmware accepted; its own documented bounds (1970…) were refused (research §2.1). */
const EARLIEST_VALID_TIME = '2000-01-01T00:00:00';
const LATEST_VALID_TIME = '2037-12-31T23:59:59';

export const isObject = (value: unknown): value is JsonObject => typeof value === 'object' && value !== null && !Array.isArray(value);

export function parseJsonBody(request: RequestContext): JsonObject {
  return parseJsonObject(request.body.toString('utf8'));
}

export function parseJsonObject(text: string): JsonObject {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw fail('badJsonFormat');
  }
  if (!isObject(value)) throw fail('badJsonFormat');
  return value;
}

/** The object under `key`; a missing root is `MessageParametersLack` naming it, as observed. */
export function requireObject(parent: JsonObject, key: string): JsonObject {
  const value = parent[key];
  if (!isObject(value)) throw fail('MessageParametersLack', key);
  return value;
}

export function checkEmployeeNo(value: unknown): string {
  if (typeof value !== 'string' || !/^[A-Za-z0-9]{1,32}$/.test(value)) throw fail('illegalEmployeeNo', 'employeeNo');
  return value;
}

export function checkCardNo(value: unknown): string {
  if (typeof value !== 'string' || !/^[A-Za-z0-9]{1,32}$/.test(value)) throw fail('illegalCardNo', 'cardNo');
  return value;
}

/** Valid.beginTime/endTime: checked even when `enable` is false, as some firmware does. */
export function checkValidity(valid: unknown): void {
  if (valid === undefined) return;
  if (!isObject(valid)) throw fail('badJsonContent', 'Valid');
  const { beginTime, endTime } = valid;
  if (beginTime === undefined && endTime === undefined) return;
  const timePattern = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}/;
  if (typeof beginTime !== 'string' || typeof endTime !== 'string' || !timePattern.test(beginTime) || !timePattern.test(endTime)) {
    throw fail('badJsonContent', 'beginTime and endTime');
  }
  // Same fixed-width layout, so the local-time prefixes compare as strings.
  const begin = beginTime.slice(0, 19);
  const end = endTime.slice(0, 19);
  if (begin < EARLIEST_VALID_TIME || end > LATEST_VALID_TIME) throw fail('badJsonContent', 'beginTime and endTime');
  if (end < begin) throw fail('endtimeEarlierThanBegintime', 'endTime');
}

/** Values of `[{<key>: "…"}]`, or null when the list is absent. Callers decide about an empty one (requireList refuses it). */
export function listValues(list: unknown, key: string, listName: string): string[] | null {
  if (list === undefined) return null;
  if (!Array.isArray(list)) throw fail('badJsonContent', listName);
  return list.map((item) => {
    const value = isObject(item) ? item[key] : undefined;
    if (typeof value !== 'string' || value === '') throw fail('badJsonContent', listName);
    return value;
  });
}

/** listValues for a list that must be there and name something: never "all", as a missing or empty list could mean on a device. */
export function requireList(list: unknown, key: string, listName: string): string[] {
  const values = listValues(list, key, listName);
  if (!values || values.length === 0) throw fail('badJsonContent', listName);
  return values;
}
