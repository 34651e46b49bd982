import { describe, expect, it } from 'vitest';
import { parseRequest } from '../../libs/hikvision/parse-request.js';
import { loadAsset } from '../../tools/simulator/assets.js';
import { DEFAULT_FLEET_MIX, fleetDevice, fleetEvent, fleetHeartbeat, fleetKinds, NVR_CHANNELS, parseFleetMix, type DeviceKind } from '../../tools/simulator/fleet.js';

/** What the soak bench's fleet sends must read, through hikhub's own parser, like the devices it stands for. */

describe('simulated fleet', () => {
  const picture = loadAsset('capture.jpg');

  it('mixes the kinds as asked, interleaved, with distinct identities', () => {
    const kinds = fleetKinds(1000, DEFAULT_FLEET_MIX);
    const count = (kind: DeviceKind, list = kinds) => list.filter((k) => k === kind).length;
    expect([count('face-terminal'), count('camera'), count('nvr')]).toEqual([400, 400, 200]);
    // Any ten consecutive devices already follow the mix (events go round-robin over them).
    const first10 = kinds.slice(0, 10);
    expect([count('face-terminal', first10), count('camera', first10), count('nvr', first10)]).toEqual([4, 4, 2]);
    const devices = kinds.map((kind, index) => fleetDevice(index, 'c0de', kind));
    expect(new Set(devices.map((device) => device.macAddress)).size).toBe(1000);
    expect(new Set(devices.map((device) => device.serialNumber)).size).toBe(1000);
    expect(fleetKinds(5, parseFleetMix('camera=1'))).toEqual(['camera', 'camera', 'camera', 'camera', 'camera']);
    expect(() => parseFleetMix('doorbell=1')).toThrow(/kind=weight/);
    expect(() => parseFleetMix('camera=0')).toThrow(/positive/);
  });

  it('face terminal: a multipart access event with its picture, and a heartBeat', async () => {
    const device = fleetDevice(0, 'c0de', 'face-terminal');
    const sent = fleetEvent(device, new Date(), picture);
    const { event, pictures } = await parseRequest({ contentType: sent.contentType, body: sent.body });
    expect(sent.withPicture).toBe(true);
    expect(event).toMatchObject({ eventType: 'AccessControllerEvent', family: 'access_control', isHeartbeat: false, macAddress: device.macAddress, serialNo: '1' });
    expect(pictures).toHaveLength(1);
    expect(pictures[0]!.bytes.equals(picture)).toBe(true);

    const heartbeat = fleetHeartbeat(device, new Date());
    expect((await parseRequest({ contentType: heartbeat.contentType, body: heartbeat.body })).event).toMatchObject({ family: 'heartbeat', isHeartbeat: true, macAddress: device.macAddress });
  });

  it('camera: XML motion and line-crossing alerts on channel 1, and a videoloss heartbeat', async () => {
    const device = fleetDevice(1, 'c0de', 'camera');
    const types = new Set<string>();
    for (let n = 0; n < 4; n++) {
      const sent = fleetEvent(device, new Date(), picture);
      expect(sent.withPicture).toBe(false);
      expect(sent.contentType).toMatch(/^application\/xml/);
      const { event, pictures } = await parseRequest({ contentType: sent.contentType, body: sent.body });
      expect(event).toMatchObject({ isHeartbeat: false, macAddress: device.macAddress, deviceSerial: device.serialNumber, channelId: 1, dedupeKey: null });
      expect(['motion', 'intrusion']).toContain(event.family);
      expect(pictures).toEqual([]);
      types.add(event.eventType!);
    }
    expect([...types].sort()).toEqual(['VMD', 'linedetection']);

    const heartbeat = fleetHeartbeat(device, new Date());
    expect((await parseRequest({ contentType: heartbeat.contentType, body: heartbeat.body })).event).toMatchObject({ eventType: 'videoloss', isHeartbeat: true, macAddress: device.macAddress });
  });

  it('NVR: XML alerts over its channels, and a videoloss heartbeat', async () => {
    const device = fleetDevice(2, 'c0de', 'nvr');
    const channels = new Set<number>();
    const types = new Set<string>();
    for (let n = 0; n < NVR_CHANNELS * 3; n++) {
      const sent = fleetEvent(device, new Date(), null);
      const { event } = await parseRequest({ contentType: sent.contentType, body: sent.body });
      expect(event).toMatchObject({ isHeartbeat: false, macAddress: device.macAddress, deviceSerial: device.serialNumber });
      channels.add(event.channelId!);
      types.add(event.eventType!);
    }
    expect([...channels].sort((a, b) => a - b)).toEqual(Array.from({ length: NVR_CHANNELS }, (_, i) => i + 1));
    expect([...types].sort()).toEqual(['VMD', 'fielddetection', 'linedetection']);

    const heartbeat = fleetHeartbeat(device, new Date());
    expect((await parseRequest({ contentType: heartbeat.contentType, body: heartbeat.body })).event).toMatchObject({ eventType: 'videoloss', isHeartbeat: true, channelId: 1 });
  });
});
