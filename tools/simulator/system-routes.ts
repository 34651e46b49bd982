import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { xmlDocument, xmlElements, xmlReply } from './responses.js';
import type { Route } from './routing.js';

/** GET /ISAPI/System/deviceInfo and GET /ISAPI/AccessControl/capabilities: XML whatever `format` says. */

export interface TerminalIdentity {
  deviceName: string;
  deviceID: string;
  model: string;
  serialNumber: string;
  macAddress: string;
  firmwareVersion: string;
  firmwareReleasedDate: string;
}

const DEFAULT_MODEL = 'DS-K1T671MF';

/** Unique per call: a serial in the DS-K1T341CMFW20230901V030315EN… style and a Hikvision-OUI MAC. */
export function defaultIdentity(overrides: Partial<TerminalIdentity> = {}): TerminalIdentity {
  const model = overrides.model ?? DEFAULT_MODEL;
  const unique = randomBytes(5).toString('hex').toUpperCase();
  const serialNumber = overrides.serialNumber ?? `${model}20240115V030215EN${unique}`;
  const mac = randomBytes(3).toString('hex').match(/../g)!.join(':');
  return {
    deviceName: overrides.deviceName ?? `Face Terminal ${serialNumber.slice(-4)}`,
    deviceID: overrides.deviceID ?? randomUUID(),
    model,
    serialNumber,
    macAddress: overrides.macAddress ?? `bc:5e:33:${mac}`,
    firmwareVersion: overrides.firmwareVersion ?? 'V3.2.15',
    firmwareReleasedDate: overrides.firmwareReleasedDate ?? 'build 240115',
  };
}

/** A DS-K1T673 answers with realm `DS-` + 8 hex characters; here they derive from the serial. */
export const defaultRealm = (serialNumber: string): string => `DS-${createHash('md5').update(serialNumber).digest('hex').slice(0, 8).toUpperCase()}`;

const ACCESS_CONTROL_CAPABILITIES = {
  isSupportUserInfo: true,
  isSupportCardInfo: true,
  isSupportFDLib: true,
  isSupportUserInfoDetailDelete: true,
  isSupportRemoteCheck: false,
  isSupportAcsEvent: true,
  isSupportFingerPrintCfg: false,
};

export function systemRoutes(identity: TerminalIdentity, namespace: string): Route[] {
  return [
    {
      method: 'GET',
      path: '/ISAPI/System/deviceInfo',
      family: 'xml',
      handle: () =>
        xmlReply(
          xmlDocument(
            'DeviceInfo',
            namespace,
            xmlElements({
              deviceName: identity.deviceName,
              deviceID: identity.deviceID,
              model: identity.model,
              serialNumber: identity.serialNumber,
              macAddress: identity.macAddress,
              firmwareVersion: identity.firmwareVersion,
              firmwareReleasedDate: identity.firmwareReleasedDate,
              encoderVersion: 'V1.0',
              encoderReleasedDate: 'build 240115',
              deviceType: 'ACS',
              subDeviceType: 'accessControlTerminal',
              manufacturer: 'hikvision',
              localZoneNum: 1,
              alarmOutNum: 1,
              electroLockNum: 1,
              RS485Num: 1,
              customizedInfo: '',
            }),
          ),
        ),
    },
    {
      method: 'GET',
      path: '/ISAPI/AccessControl/capabilities',
      family: 'xml',
      handle: () => xmlReply(xmlDocument('AccessControl', namespace, xmlElements(ACCESS_CONTROL_CAPABILITIES))),
    },
  ];
}
