import { createHash, randomBytes } from 'node:crypto';
import { buildMultipart, type BodyPart } from './multipart-body.js';

/**
 * What a face terminal POSTs to its HTTP listening target: a multipart/form-data body
 * (boundary MIME_boundary) whose `AccessControllerEvent` part is an EventNotificationAlert-style
 * JSON document, tab-indented like DS-K1T firmware, optionally followed by the capture picture.
 * Heartbeats travel the same way with eventType `heartBeat`.
 */

export interface PushingDevice {
  index: number;
  ipAddress: string;
  macAddress: string;
  serialNumber: string;
  deviceName: string;
  /** The per-device event sequence (`serialNo`), increasing from 1. */
  lastSerialNo: number;
}

const NAMES = ['Ana Lima', 'Bruno Costa', 'Chen Wei', 'Dana Novak', 'Emeka Obi', 'Farah Haddad', 'Goran Ilic', 'Hana Sato'];
const VERIFY_MODES = ['cardOrFace', 'face', 'card', 'cardOrFaceOrPw'];

/** A random prefix per run keeps identities of separate runs apart; pass one to reuse identities. */
export const newIdPrefix = (): string => randomBytes(2).toString('hex');

export function pushingDevice(index: number, idPrefix: string): PushingDevice {
  // Four hex digits go into the MAC: any other prefix is hashed to them, so distinct prefixes stay distinct devices.
  const prefix = /^[0-9a-f]{1,4}$/i.test(idPrefix) ? idPrefix.padStart(4, '0').toLowerCase() : createHash('sha256').update(idPrefix).digest('hex').slice(0, 4);
  const low = index & 0xffff;
  const hex = (value: number) => value.toString(16).padStart(2, '0');
  return {
    index,
    ipAddress: `10.${20 + Math.floor(index / 62_500)}.${Math.floor(index / 250) % 250}.${(index % 250) + 2}`,
    macAddress: `bc:5e:${prefix.slice(0, 2)}:${prefix.slice(2, 4)}:${hex(low >> 8)}:${hex(low & 0xff)}`,
    serialNumber: `DS-K1T671MF20240115V030215EN${prefix.toUpperCase()}${String(index).padStart(5, '0')}`,
    deviceName: `Door ${index + 1}`,
    lastSerialNo: 0,
  };
}

/** Device-local time with its offset, `2023-12-01T02:48:43+08:00`, as terminals write it. */
export function localDateTime(date: Date): string {
  const offsetMinutes = -date.getTimezoneOffset();
  const pad = (value: number) => String(Math.abs(value)).padStart(2, '0');
  const sign = offsetMinutes >= 0 ? '+' : '-';
  return (
    `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}` +
    `${sign}${pad(Math.trunc(offsetMinutes / 60))}:${pad(offsetMinutes % 60)}`
  );
}

function envelope(device: PushingDevice, now: Date): Record<string, unknown> {
  return { ipAddress: device.ipAddress, portNo: 80, protocol: 'HTTP', macAddress: device.macAddress, channelID: 1, dateTime: localDateTime(now), activePostCount: 1 };
}

export function accessEventDocument(device: PushingDevice, now: Date, withPicture: boolean): Record<string, unknown> {
  device.lastSerialNo += 1;
  const serialNo = device.lastSerialNo;
  const person = serialNo % 200;
  return {
    ...envelope(device, now),
    eventType: 'AccessControllerEvent',
    eventState: 'active',
    eventDescription: 'Access Controller Event',
    AccessControllerEvent: {
      deviceName: device.deviceName,
      majorEventType: 5,
      subEventType: 75,
      name: NAMES[person % NAMES.length],
      cardReaderKind: 1,
      cardReaderNo: 1,
      verifyNo: 100 + serialNo,
      employeeNoString: String(person + 1),
      serialNo,
      userType: 'normal',
      currentVerifyMode: VERIFY_MODES[device.index % VERIFY_MODES.length],
      currentEvent: true,
      frontSerialNo: serialNo - 1,
      attendanceStatus: 'undefined',
      label: '',
      statusValue: 0,
      mask: 'no',
      helmet: 'unknown',
      picturesNumber: withPicture ? 1 : 0,
      purePwdVerifyEnable: true,
      ...(withPicture ? { FaceRect: { height: 0.304, width: 0.496, x: 0.5, y: 0.487 } } : {}),
    },
  };
}

export function heartbeatDocument(device: PushingDevice, now: Date): Record<string, unknown> {
  return { ...envelope(device, now), activePostCount: 0, eventType: 'heartBeat', eventState: 'active', eventDescription: 'heartBeat' };
}

export function notificationBody(document: Record<string, unknown>, picture?: Buffer): Buffer {
  const parts: BodyPart[] = [{ name: 'AccessControllerEvent', contentType: 'application/json', body: JSON.stringify(document, null, '\t') }];
  if (picture) parts.push({ name: 'Picture', filename: 'Picture.jpg', contentType: 'image/jpeg', headers: { 'Content-ID': 'pictureImage' }, body: picture });
  return buildMultipart(parts);
}

/** What a camera or NVR says in an ISAPI EventNotificationAlert (HTTP listening mode). */
export interface AlertFields {
  eventType: string;
  eventState: 'active' | 'inactive';
  eventDescription: string;
  /** Cameras write `channelID`; NVRs number their inputs `dynChannelID`. */
  channel: { name: 'channelID' | 'dynChannelID'; id: number };
  activePostCount: number;
}

export const XML_CONTENT_TYPE = 'application/xml; charset="UTF-8"';

/** An EventNotificationAlert as cameras and NVRs post it, with the serial in the PSIA Extensions as they write it. */
export function alertXmlBody(device: PushingDevice, now: Date, alert: AlertFields): Buffer {
  return Buffer.from(
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
      '<EventNotificationAlert version="2.0" xmlns="http://www.hikvision.com/ver20/XMLSchema">\n' +
      `<ipAddress>${device.ipAddress}</ipAddress>\n<portNo>80</portNo>\n<protocol>HTTP</protocol>\n<macAddress>${device.macAddress}</macAddress>\n` +
      `<${alert.channel.name}>${alert.channel.id}</${alert.channel.name}>\n<dateTime>${localDateTime(now)}</dateTime>\n<activePostCount>${alert.activePostCount}</activePostCount>\n` +
      `<eventType>${alert.eventType}</eventType>\n<eventState>${alert.eventState}</eventState>\n<eventDescription>${alert.eventDescription}</eventDescription>\n` +
      `<channelName>${device.deviceName}</channelName>\n` +
      '<Extensions version="1.0" xmlns="urn:psialliance-org">\n' +
      `<serialNumber xmlns="urn:selfextension:psiaext-ver10-xsd">${device.serialNumber}</serialNumber>\n` +
      '</Extensions>\n</EventNotificationAlert>\n',
  );
}
