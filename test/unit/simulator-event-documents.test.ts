import { describe, expect, it } from 'vitest';
import { parseRequest } from '../../libs/hikvision/parse-request.js';
import { loadAsset } from '../../tools/simulator/assets.js';
import { accessEventDocument, heartbeatDocument, notificationBody, pushingDevice } from '../../tools/simulator/event-documents.js';
import { multipartContentType } from '../../tools/simulator/multipart-body.js';

/** What the event pusher sends must read, through hikhub's own parser, like a real face terminal. */

describe('simulated event documents', () => {
  const device = pushingDevice(7, 'a1b2');

  it('gives each device its own identity, stable for a prefix', () => {
    expect(pushingDevice(7, 'a1b2')).toEqual(device);
    expect(pushingDevice(8, 'a1b2').macAddress).not.toBe(device.macAddress);
    expect(device.macAddress).toMatch(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
  });

  it('parses as an access-control event with its picture', async () => {
    const body = notificationBody(accessEventDocument(device, new Date(), true), loadAsset('capture.jpg'));
    const { event, pictures } = await parseRequest({ contentType: multipartContentType(), body });
    expect(event).toMatchObject({ eventType: 'AccessControllerEvent', family: 'access_control', isHeartbeat: false, macAddress: device.macAddress, majorEventType: 5, minorEventType: 75, serialNo: String(device.lastSerialNo) });
    expect(event.occurredAt).toBeInstanceOf(Date);
    expect(pictures).toHaveLength(1);
    expect(pictures[0]!.contentType).toBe('image/jpeg');
  });

  it('parses a heartBeat as a heartbeat', async () => {
    const { event, pictures } = await parseRequest({ contentType: multipartContentType(), body: notificationBody(heartbeatDocument(device, new Date())) });
    expect(event).toMatchObject({ eventType: 'heartBeat', family: 'heartbeat', isHeartbeat: true, macAddress: device.macAddress });
    expect(pictures).toEqual([]);
  });
});
