import { isIP } from 'node:net';
import type { IsapiClient } from './client.js';
import { IsapiError } from './errors.js';
import { asArray, asBoolean, asNumber, asRecord, asString } from './response-body.js';

/**
 * The event push target ("HTTP listening"). Devices have a few slots that VMS/NVR targets may
 * already use: we only ever write a slot that is ours or empty, never a foreign one.
 */

export interface HttpHostSlot {
  id: number;
  url: string;
  protocolType: string;
  parameterFormatType: string;
  addressingFormatType: string;
  ipAddress: string;
  ipv6Address: string;
  hostName: string;
  portNo: number;
  httpAuthenticationMethod: string;
  userName: string;
  httpBroken: boolean;
}

export interface EventPushTarget {
  /** Full URL including the per-device path, e.g. `http://hikhub.example:8080/hikvision/events/<token>`. */
  url: string;
  /** The slot we wrote last time, if known. */
  ownedSlotId?: number | null;
  format?: 'JSON' | 'XML';
  /** Digest credentials the device uses towards us (MD5digest). */
  authentication?: { username: string; password: string };
}

const HTTP_HOSTS = '/ISAPI/Event/notification/httpHosts';
const DEFAULT_NAMESPACE = 'http://www.isapi.org/ver20/XMLSchema';

export async function readHttpHosts(client: IsapiClient): Promise<HttpHostSlot[]> {
  return (await readSlotsAndNamespace(client)).slots;
}

async function readSlotsAndNamespace(client: IsapiClient): Promise<{ slots: HttpHostSlot[]; namespace: string }> {
  const { body, rawText } = await client.request({ operation: 'httphosts.read', method: 'GET', path: HTTP_HOSTS });
  const list = asRecord(body?.['HttpHostNotificationList']);
  const slots = asArray(list?.['HttpHostNotification'])
    .map((entry) => toSlot(asRecord(entry)))
    .filter((slot): slot is HttpHostSlot => slot !== undefined)
    .sort((a, b) => a.id - b.id);
  // Answer in the namespace the firmware speaks (isapi.org on newer, hikvision.com on older devices).
  const namespace = /<(?:\w+:)?HttpHostNotificationList\b[^>]*\sxmlns="([^"]+)"/.exec(rawText)?.[1] ?? DEFAULT_NAMESPACE;
  return { slots, namespace };
}

function toSlot(entry: Record<string, unknown> | undefined): HttpHostSlot | undefined {
  const id = asNumber(entry?.['id']);
  if (entry === undefined || id === undefined) return undefined;
  const text = (name: string): string => asString(entry[name])?.trim() ?? '';
  return {
    id,
    url: text('url'),
    protocolType: text('protocolType'),
    parameterFormatType: text('parameterFormatType'),
    addressingFormatType: text('addressingFormatType'),
    ipAddress: text('ipAddress'),
    ipv6Address: text('ipv6Address'),
    hostName: text('hostName'),
    portNo: asNumber(entry['portNo']) ?? 0,
    httpAuthenticationMethod: text('httpAuthenticationMethod'),
    userName: text('userName'),
    httpBroken: asBoolean(entry['httpBroken']) ?? false,
  };
}

interface DesiredSlot {
  url: string;
  protocolType: 'HTTP' | 'HTTPS';
  parameterFormatType: 'JSON' | 'XML';
  addressingFormatType: 'ipaddress' | 'hostname';
  host: string;
  portNo: number;
  authentication?: { username: string; password: string };
}

function desiredSlot(target: EventPushTarget): DesiredSlot {
  const url = new URL(target.url);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw badTarget(`push URL must be http or https, got ${url.protocol}`);
  const host = url.hostname;
  if (host.startsWith('[')) throw badTarget('IPv6 push targets are not supported');
  const desired: DesiredSlot = {
    url: `${url.pathname}${url.search}`,
    protocolType: url.protocol === 'https:' ? 'HTTPS' : 'HTTP',
    parameterFormatType: target.format ?? 'JSON',
    addressingFormatType: isIP(host) === 4 ? 'ipaddress' : 'hostname',
    host,
    portNo: url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port),
  };
  if (target.authentication) desired.authentication = target.authentication;
  return desired;
}

const UNSET_ADDRESSES = new Set(['', '0.0.0.0', '::', '0:0:0:0:0:0:0:0']);

/** No address configured: nobody receives events from this slot. */
export function isEmptySlot(slot: HttpHostSlot): boolean {
  return [slot.ipAddress, slot.ipv6Address, slot.hostName].every((address) => UNSET_ADDRESSES.has(address));
}

function slotAddress(slot: HttpHostSlot): string {
  return (slot.addressingFormatType.toLowerCase() === 'hostname' ? slot.hostName : slot.ipAddress).toLowerCase();
}

function sameHostPort(slot: HttpHostSlot, desired: DesiredSlot): boolean {
  return slotAddress(slot) === desired.host.toLowerCase() && slot.portNo === desired.portNo;
}

/** Ours: the slot we own (still empty or still pointing at us), or any slot already pointing at our exact URL. */
/**
 * A slot is ours when it is the one we wrote last time (still empty or still ours), or when it
 * points at hikhub's own host and port, whatever its path: an older token URL (lost answer,
 * device re-added) must be rewritten, never left pushing to a revoked path beside a new slot.
 */
function isOurSlot(slot: HttpHostSlot, desired: DesiredSlot, ownedSlotId: number | null | undefined): boolean {
  if (slot.id === ownedSlotId && (isEmptySlot(slot) || sameHostPort(slot, desired))) return true;
  return sameHostPort(slot, desired);
}

export function chooseSlot(slots: HttpHostSlot[], target: EventPushTarget): HttpHostSlot | undefined {
  const desired = desiredSlot(target);
  const owned = target.ownedSlotId ?? null;
  const ours = slots.filter((slot) => isOurSlot(slot, desired, owned));
  return ours.find((slot) => slot.id === owned) ?? ours.find((slot) => slot.url === desired.url) ?? ours[0] ?? slots.find(isEmptySlot);
}

function isUpToDate(slot: HttpHostSlot, desired: DesiredSlot): boolean {
  // Devices never return the password, so a target with authentication is always rewritten.
  if (desired.authentication) return false;
  const same = (a: string, b: string): boolean => a.toLowerCase() === b.toLowerCase();
  return (
    slot.url === desired.url &&
    same(slot.protocolType, desired.protocolType) &&
    same(slot.parameterFormatType, desired.parameterFormatType) &&
    same(slot.addressingFormatType, desired.addressingFormatType) &&
    sameHostPort(slot, desired) &&
    same(slot.httpAuthenticationMethod || 'none', 'none') &&
    slot.httpBroken
  );
}

/** Point one slot at hikhub; returns the slot used and whether it was written. */
export async function configureEventPush(client: IsapiClient, target: EventPushTarget): Promise<{ slotId: number; changed: boolean }> {
  const desired = desiredSlot(target);
  const { slots, namespace } = await readSlotsAndNamespace(client);
  const slot = chooseSlot(slots, target);
  if (slot === undefined) {
    throw new IsapiError({
      errorClass: 'permanent',
      permanentKind: 'capacity',
      operation: 'httphosts.configure',
      subStatusCode: 'noFreeHttpHostSlot',
      detail: `all ${slots.length} httpHosts slots point at other receivers; free one on the device`,
    });
  }
  if (isUpToDate(slot, desired)) return { slotId: slot.id, changed: false };
  await client.request({
    operation: 'httphosts.write',
    method: 'PUT',
    path: `${HTTP_HOSTS}/${slot.id}`,
    xml: httpHostXml(slot.id, desired, namespace),
  });
  return { slotId: slot.id, changed: true };
}

function httpHostXml(id: number, desired: DesiredSlot, namespace = DEFAULT_NAMESPACE): string {
  const element = (name: string, value: string | number | boolean): string => `<${name}>${escapeXml(String(value))}</${name}>`;
  const fields = [
    element('id', id),
    element('url', desired.url),
    element('protocolType', desired.protocolType),
    element('parameterFormatType', desired.parameterFormatType),
    element('addressingFormatType', desired.addressingFormatType),
    desired.addressingFormatType === 'hostname' ? element('hostName', desired.host) : element('ipAddress', desired.host),
    element('portNo', desired.portNo),
  ];
  if (desired.authentication) {
    fields.push(
      element('userName', desired.authentication.username),
      element('password', desired.authentication.password),
      element('httpAuthenticationMethod', 'MD5digest'),
    );
  } else {
    fields.push(element('httpAuthenticationMethod', 'none'));
  }
  // httpBroken: the device resends events it cached while hikhub was unreachable.
  fields.push(element('httpBroken', true));
  return `<?xml version="1.0" encoding="UTF-8"?>\n<HttpHostNotification version="2.0" xmlns="${escapeXml(namespace)}">${fields.join('')}</HttpHostNotification>\n`;
}

const escapeXml = (value: string): string =>
  value.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);

function badTarget(detail: string): IsapiError {
  return new IsapiError({ errorClass: 'permanent', permanentKind: 'bad_data', operation: 'httphosts.configure', detail });
}
