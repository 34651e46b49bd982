import { parseOffsetMinutes, zoneOffsetMs } from '../hikvision/device-time.js';

/**
 * Validity times as access devices take them: `YYYY-MM-DDTHH:MM:SS` in the device's local time
 * (`timeType: "local"`, the only value some firmware offers).
 */

/**
 * Bounds we send. 2037-12-31T23:59:59 is the manufacturer maximum (32-bit device clocks);
 * 2000-01-01 rather than the documented 1970 because one firmware rejected exactly the documented
 * bounds (`badJsonContent "beginTime and endTime"`) but accepted 2000…2030.
 */
export const VALIDITY_MIN = '2000-01-01T00:00:00';
export const VALIDITY_MAX = '2037-12-31T23:59:59';

/** `date` as wall-clock time in `timeZone`: an IANA name, or a fixed offset such as +08:00 or Z (DEVICE_TIME_ZONE allows both). */
export function formatDeviceLocalTime(date: Date, timeZone: string): string {
  const offsetMinutes = parseOffsetMinutes(timeZone);
  const offsetMs = offsetMinutes !== null ? offsetMinutes * 60_000 : zoneOffsetMs(timeZone, date.getTime());
  return new Date(date.getTime() + offsetMs).toISOString().slice(0, 19);
}

/** Same-format strings compare chronologically, so clamping is a string comparison. */
export function clampValidity(local: string): string {
  if (local < VALIDITY_MIN) return VALIDITY_MIN;
  if (local > VALIDITY_MAX) return VALIDITY_MAX;
  return local;
}
