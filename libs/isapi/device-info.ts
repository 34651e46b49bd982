import type { IsapiClient } from './client.js';
import { IsapiError } from './errors.js';
import { asRecord, asString } from './response-body.js';

/** Device identity. serialNumber is the device key (macAddress as fallback); compare it before any write. */

export interface DeviceInfo {
  serialNumber: string;
  model: string;
  firmwareVersion: string;
  macAddress: string;
  deviceName: string;
  deviceType: string;
}

const DEVICE_INFO = '/ISAPI/System/deviceInfo';

/** XML on every firmware (some ignore `?format=json`), in either the isapi.org or hikvision.com namespace. */
export async function readDeviceInfo(client: IsapiClient): Promise<DeviceInfo> {
  const { body } = await client.request({ operation: 'device.info', method: 'GET', path: DEVICE_INFO });
  const info = asRecord(body?.['DeviceInfo']);
  const field = (name: string): string => asString(info?.[name])?.trim() ?? '';
  const result: DeviceInfo = {
    serialNumber: field('serialNumber'),
    model: field('model'),
    firmwareVersion: field('firmwareVersion'),
    macAddress: field('macAddress'),
    deviceName: field('deviceName'),
    deviceType: field('deviceType'),
  };
  if (result.serialNumber === '' && result.macAddress === '') {
    throw new IsapiError({ errorClass: 'limited_retry', operation: 'device.info', subStatusCode: 'noDeviceIdentity', detail: 'deviceInfo has neither serialNumber nor macAddress' });
  }
  return result;
}
