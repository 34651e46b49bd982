import { describeAccessEvent } from './access-control.js';
import { resolveDeviceTime } from './device-time.js';
import type { HikvisionEvent } from './event-model.js';
import { eventFamily, isHeartbeat } from './heartbeat.js';
import { normalizeMacAddress } from './mac-address.js';

/**
 * One HikvisionEvent from an event document, XML or JSON alike: both arrive here as plain
 * objects (XML values are strings, JSON values may be numbers or booleans), so every read goes
 * through the tolerant accessors below.
 */

export interface NormalizeOptions {
  /** How to read a `dateTime` without an offset (IANA zone or ±HH:MM). */
  defaultTimeZone?: string | undefined;
}

type Fields = Record<string, unknown>;

// Devices without a configured address report these; the real one is then in ipv6Address.
const PLACEHOLDER_IPV4 = new Set(['1.0.0.255', '0.0.0.0']);
const MAPPED_IPV4 = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i;
// Plate values meaning "nothing was read": kept in the document, never used as a plate.
const NO_PLATE = new Set(['unknown', '无车牌']);

export function normalizeEvent(
  document: Fields,
  documentFormat: 'xml' | 'json',
  options: NormalizeOptions = {},
): HikvisionEvent {
  const eventType = text(field(document, 'eventType'));
  const eventState = text(field(document, 'eventState'));
  const activePostCount = integer(field(document, 'activePostCount'));
  const deviceTime = text(field(document, 'dateTime'));
  const macAddress = normalizeMacAddress(text(field(document, 'macAddress')));
  const ipAddress = deviceIpAddress(text(field(document, 'ipAddress')), text(field(document, 'ipv6Address')));
  const relationEvent = text(path(document, 'DurationList', 'Duration', 'relationEvent'));

  const access = asFields(field(document, 'AccessControllerEvent'));
  const majorEventType = integer(field(access, 'majorEventType'));
  const minorEventType = integer(field(access, 'subEventType')) ?? integer(field(access, 'minorEventType'));
  const serialNo = text(field(access, 'serialNo'));

  return {
    eventType,
    eventState,
    family: eventFamily(eventType, relationEvent),
    isHeartbeat: isHeartbeat({ eventType, eventState, activePostCount }),
    deviceTime,
    occurredAt: resolveDeviceTime(deviceTime, options.defaultTimeZone),
    macAddress,
    ipAddress,
    channelId: integer(field(document, 'channelID')) ?? integer(field(document, 'dynChannelID')),
    channelName: text(field(document, 'channelName')),
    activePostCount,
    majorEventType,
    minorEventType,
    employeeNo: text(field(access, 'employeeNoString')) ?? text(field(access, 'employeeNo')),
    personName: text(field(access, 'name')),
    cardNo: text(field(access, 'cardNo')),
    serialNo,
    deviceSerial: deviceSerial(document),
    deviceName: text(field(access, 'deviceName')) ?? text(field(document, 'deviceName')),
    licensePlate: licensePlate(document),
    verifyResult: access === undefined ? null : describeAccessEvent(majorEventType, minorEventType),
    dedupeKey: dedupeKey(document, eventType, { access, serialNo, macAddress, ipAddress }),
    document,
    documentFormat,
  };
}

function deviceIpAddress(ipv4: string | null, ipv6: string | null): string | null {
  const mapped = ipv6 === null ? undefined : MAPPED_IPV4.exec(ipv6)?.[1];
  if (ipv4 !== null && !PLACEHOLDER_IPV4.has(ipv4)) return ipv4;
  if (mapped !== undefined) return mapped;
  return ipv4 ?? ipv6;
}

/** Extensions/serialNumber (NVRs wrap it over two lines), else a top-level serial or device id. */
function deviceSerial(document: Fields): string | null {
  const serial =
    text(path(document, 'Extensions', 'serialNumber')) ??
    text(field(document, 'serialNumber')) ??
    text(field(document, 'deviceID'));
  return serial === null ? null : serial.replace(/\s*[\r\n]+\s*/g, '');
}

function licensePlate(document: Fields): string | null {
  const candidates = [
    text(path(document, 'ANPR', 'licensePlate')),
    text(path(document, 'VehiclePassingInParkingLot', 'VehicleInfo', 'plateNo')),
  ];
  return candidates.find((plate) => plate !== null && !NO_PLATE.has(plate.toLowerCase())) ?? null;
}

function dedupeKey(
  document: Fields,
  eventType: string | null,
  ids: { access: Fields | undefined; serialNo: string | null; macAddress: string | null; ipAddress: string | null },
): string | null {
  if (ids.access !== undefined && ids.serialNo !== null) {
    return `acs:${ids.macAddress ?? ids.ipAddress ?? 'unknown'}:${ids.serialNo}`;
  }
  const uuid = text(field(document, 'UUID'));
  const isAnpr = eventType?.toLowerCase() === 'anpr' || asFields(field(document, 'ANPR')) !== undefined;
  return isAnpr && uuid !== null ? `anpr:${uuid}` : null;
}

// --- tolerant accessors -------------------------------------------------------------------

function asFields(value: unknown): Fields | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Fields) : undefined;
}

/** A child by name: exact match first, then case-insensitive; repeated elements yield the first. */
function field(fields: unknown, name: string): unknown {
  const object = asFields(fields);
  if (object === undefined) return undefined;
  let value = Object.hasOwn(object, name) ? object[name] : undefined;
  if (value === undefined) {
    const lower = name.toLowerCase();
    const key = Object.keys(object).find((k) => k.toLowerCase() === lower);
    value = key === undefined ? undefined : object[key];
  }
  return Array.isArray(value) ? value[0] : value;
}

function path(fields: unknown, ...names: string[]): unknown {
  return names.reduce<unknown>((node, name) => field(node, name), fields);
}

/** Trimmed text of a scalar (strings, numbers, booleans); empty → null. */
function text(value: unknown): string | null {
  if (typeof value === 'string') {
    const trimmed = value.trim();
    return trimmed === '' ? null : trimmed;
  }
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : null;
  if (typeof value === 'boolean') return String(value);
  const object = asFields(value);
  return object !== undefined && Object.hasOwn(object, '#text') ? text(object['#text']) : null;
}

function integer(value: unknown): number | null {
  const t = text(value);
  return t !== null && /^[+-]?\d{1,15}$/.test(t) ? Number(t) : null;
}
