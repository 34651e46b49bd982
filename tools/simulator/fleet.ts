import { accessEventDocument, alertXmlBody, heartbeatDocument, notificationBody, pushingDevice, XML_CONTENT_TYPE, type PushingDevice } from './event-documents.js';
import { multipartContentType } from './multipart-body.js';

/**
 * A mixed fleet for the event pusher: face terminals (multipart AccessControllerEvent JSON, with a
 * picture), cameras (XML motion and line-crossing alerts on channel 1) and NVRs (XML alerts on
 * several channels). Each kind sends its own heartbeat: face terminals `heartBeat`, cameras and
 * NVRs the `videoloss`/`inactive` alert they repeat while all is well (hikhub counts both as
 * heartbeats, libs/hikvision/heartbeat.ts).
 */

export const DEVICE_KINDS = ['face-terminal', 'camera', 'nvr'] as const;
export type DeviceKind = (typeof DEVICE_KINDS)[number];

/** Share of the devices of each kind; normalised, so weights work as well as fractions. */
export type FleetMix = Record<DeviceKind, number>;

export const FACE_TERMINALS_ONLY: FleetMix = { 'face-terminal': 1, camera: 0, nvr: 0 };
export const DEFAULT_FLEET_MIX: FleetMix = { 'face-terminal': 0.4, camera: 0.4, nvr: 0.2 };

/** Inputs an NVR reports events for. */
export const NVR_CHANNELS = 8;

const MODELS: Record<DeviceKind, { serial: string; name: string }> = {
  'face-terminal': { serial: 'DS-K1T671MF20240115V030215EN', name: 'Door' },
  camera: { serial: 'DS-2CD2T46G2-ISU20240115AAWR', name: 'Camera' },
  nvr: { serial: 'DS-7608NI-K2-8P20240115CCRR', name: 'NVR' },
};

const CAMERA_ALERTS = [
  { eventType: 'VMD', eventDescription: 'Motion alarm' },
  { eventType: 'linedetection', eventDescription: 'linedetection alarm' },
] as const;
const NVR_ALERTS = [...CAMERA_ALERTS, { eventType: 'fielddetection', eventDescription: 'fielddetection alarm' }] as const;

export interface FleetDevice extends PushingDevice {
  kind: DeviceKind;
}

/** One request body a device posts. */
export interface Notification {
  body: Buffer;
  contentType: string;
  withPicture: boolean;
}

/** `face-terminal=0.4,camera=0.4,nvr=0.2` → a mix; kinds left out count 0. */
export function parseFleetMix(text: string): FleetMix {
  const mix: FleetMix = { 'face-terminal': 0, camera: 0, nvr: 0 };
  for (const item of text.split(',').map((part) => part.trim()).filter(Boolean)) {
    const [kind, raw] = item.split('=');
    const weight = Number(raw);
    if (!(DEVICE_KINDS as readonly string[]).includes(kind ?? '') || raw === undefined || !Number.isFinite(weight) || weight < 0) {
      throw new Error(`fleet mix: expected kind=weight with kind one of ${DEVICE_KINDS.join(', ')}, got "${item}"`);
    }
    mix[kind as DeviceKind] = weight;
  }
  if (DEVICE_KINDS.every((kind) => mix[kind] === 0)) throw new Error('fleet mix: give at least one kind a positive weight');
  return mix;
}

/**
 * The kind of each of `devices` devices, interleaved (smooth weighted round-robin) so that every
 * stretch of consecutive devices, and so every round-robin stretch of events, follows the mix.
 */
export function fleetKinds(devices: number, mix: FleetMix): DeviceKind[] {
  const total = DEVICE_KINDS.reduce((sum, kind) => sum + mix[kind], 0);
  const current: FleetMix = { 'face-terminal': 0, camera: 0, nvr: 0 };
  const kinds: DeviceKind[] = [];
  for (let index = 0; index < devices; index++) {
    let chosen: DeviceKind = DEVICE_KINDS[0];
    for (const kind of DEVICE_KINDS) {
      current[kind] += mix[kind];
      if (current[kind] > current[chosen]) chosen = kind;
    }
    current[chosen] -= total;
    kinds.push(chosen);
  }
  return kinds;
}

export function fleetDevice(index: number, idPrefix: string, kind: DeviceKind): FleetDevice {
  const device = pushingDevice(index, idPrefix);
  const model = MODELS[kind];
  const suffix = device.serialNumber.slice(MODELS['face-terminal'].serial.length);
  return { ...device, kind, serialNumber: `${model.serial}${suffix}`, deviceName: `${model.name} ${index + 1}` };
}

/** The device's next event: an access event (with `picture` when given), or an XML alert. */
export function fleetEvent(device: FleetDevice, now: Date, picture: Buffer | null): Notification {
  if (device.kind === 'face-terminal') {
    return { body: notificationBody(accessEventDocument(device, now, picture !== null), picture ?? undefined), contentType: multipartContentType(), withPicture: picture !== null };
  }
  // Cameras and NVRs have no event serial; the counter only rotates alert types and channels.
  device.lastSerialNo += 1;
  const n = device.lastSerialNo;
  const alerts = device.kind === 'camera' ? CAMERA_ALERTS : NVR_ALERTS;
  const alert = alerts[n % alerts.length]!;
  const channel = device.kind === 'camera' ? { name: 'channelID' as const, id: 1 } : { name: 'dynChannelID' as const, id: 1 + (n % NVR_CHANNELS) };
  return { body: alertXmlBody(device, now, { ...alert, eventState: 'active', channel, activePostCount: 1 }), contentType: XML_CONTENT_TYPE, withPicture: false };
}

export function fleetHeartbeat(device: FleetDevice, now: Date): Notification {
  if (device.kind === 'face-terminal') return { body: notificationBody(heartbeatDocument(device, now)), contentType: multipartContentType(), withPicture: false };
  const channel = device.kind === 'camera' ? { name: 'channelID' as const, id: 1 } : { name: 'dynChannelID' as const, id: 1 };
  return {
    body: alertXmlBody(device, now, { eventType: 'videoloss', eventState: 'inactive', eventDescription: 'videoloss alarm', channel, activePostCount: 0 }),
    contentType: XML_CONTENT_TYPE,
    withPicture: false,
  };
}
