import { IsapiClient, IsapiError, readDeviceInfo, type IsapiRequestSample } from '../../libs/isapi/index.js';
import type { DesiredState, DeviceConnection } from '../../libs/provisioning/desired-state.js';

export interface SessionTimeouts {
  connectTimeoutMs: number;
  requestTimeoutMs: number;
  faceTimeoutMs: number;
}

interface Session {
  key: string;
  client: IsapiClient;
  identityChecked: boolean;
  lastUsed: number;
}

const IDLE_CLOSE_MS = 5 * 60_000;

/**
 * One IsapiClient (keep-alive connection + cached Digest challenge) per device and credentials
 * version. A new session first reads deviceInfo — the cheap request that also earns the Digest
 * challenge — and checks the serial number against the one on record, so a DHCP lease handed
 * to another device never receives our writes. Idle sessions are closed by `closeIdle`.
 */
export class DeviceSessions {
  private readonly sessions = new Map<string, Session>();

  constructor(
    private readonly desired: DesiredState,
    private readonly timeouts: SessionTimeouts,
    private readonly onRequestComplete: (sample: IsapiRequestSample) => void,
  ) {}

  async clientFor(device: DeviceConnection): Promise<IsapiClient> {
    const key = `${device.credentialsVersion}|${device.scheme}://${device.host}:${device.port}`;
    let session = this.sessions.get(device.id);
    if (session && session.key !== key) {
      await session.client.close().catch(() => {});
      session = undefined;
    }
    if (!session) {
      const fresh: Session = {
        key,
        client: new IsapiClient(
          { host: device.host, port: device.port, scheme: device.scheme, username: device.username, password: device.password },
          {
            ...this.timeouts,
            // Every answer keeps the session alive: a long reconcile must not have its client swept away.
            onRequestComplete: (sample) => {
              fresh.lastUsed = Date.now();
              this.onRequestComplete(sample);
            },
          },
        ),
        identityChecked: false,
        lastUsed: Date.now(),
      };
      session = fresh;
      this.sessions.set(device.id, session);
    }
    session.lastUsed = Date.now();
    if (!session.identityChecked) {
      const info = await readDeviceInfo(session.client);
      if (device.serialNumber && info.serialNumber && info.serialNumber !== device.serialNumber) {
        await this.forget(device.id);
        throw new IsapiError({
          errorClass: 'operator',
          operation: 'device.identity',
          subStatusCode: 'deviceIdentityMismatch',
          detail: `expected serial ${device.serialNumber}, found ${info.serialNumber} at ${device.host}:${device.port}; update the device's address or delete and re-add it`,
        });
      }
      await this.desired.recordDeviceInfo(device.id, info);
      session.identityChecked = true;
    }
    return session.client;
  }

  async forget(deviceId: string): Promise<void> {
    const session = this.sessions.get(deviceId);
    this.sessions.delete(deviceId);
    await session?.client.close().catch(() => {});
  }

  /** Close sessions unused for 5 minutes; the service calls it on a timer (a periodic task). */
  async closeIdle(): Promise<void> {
    const now = Date.now();
    for (const [deviceId, session] of this.sessions) {
      if (now - session.lastUsed > IDLE_CLOSE_MS) await this.forget(deviceId);
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.sessions.keys()].map((deviceId) => this.forget(deviceId)));
  }
}
