import { describe, expect, it } from 'vitest';
import type { HikvisionEvent, ParsedRequest } from '../../../libs/hikvision/event-model.js';
import { parseRequest } from '../../../libs/hikvision/parse-request.js';
import { sniffPictureType } from '../../../libs/hikvision/picture-type.js';
import { parseFailureOf } from '../../helpers/parse-failure.js';
import { fixtureNames, fixturesDir, haveFixtures, MISSING_FIXTURES_MESSAGE, readFixture, splitHttpCapture } from '../../helpers/fixtures.js';

/**
 * Every file in ../shared/fixtures goes through parseRequest the way a device would send it.
 * A new fixture of an unknown kind fails the suite rather than being silently ignored.
 */

if (!haveFixtures) console.warn(MISSING_FIXTURES_MESSAGE);

const names = fixtureNames();
const isDoc = (name: string) => name.endsWith('.md');
const isConfig = (name: string) => name.includes('__config_');
const isHttp = (name: string) => name.endsWith('.http');
const isStream = (name: string) => name.endsWith('.jsonl.txt');
const isXml = (name: string) => name.endsWith('.xml');
const isJson = (name: string) => name.endsWith('.json');

async function parseFixture(name: string): Promise<ParsedRequest> {
  const bytes = readFixture(name);
  if (isHttp(name)) {
    const { headers, body } = splitHttpCapture(bytes);
    return parseRequest({ contentType: headers['content-type'], body });
  }
  return parseRequest({ contentType: isXml(name) ? 'application/xml' : 'application/json', body: bytes });
}

const failureOf = (name: string) => parseFailureOf(() => parseFixture(name));

interface RawPart {
  headers: Record<string, string>;
  body: Buffer;
}

/** Deliberately naive oracle: split on CRLF + `--boundary`, exactly as these captures are framed. */
function rawParts(contentType: string, body: Buffer): RawPart[] {
  const boundary = /boundary=("?)([^";]+)\1/i.exec(contentType)?.[2];
  if (boundary === undefined) throw new Error('no boundary');
  const delimiter = `--${boundary}`;
  const parts: RawPart[] = [];
  let at = body.indexOf(delimiter);
  while (at !== -1 && body.toString('latin1', at + delimiter.length, at + delimiter.length + 2) !== '--') {
    const headerStart = at + delimiter.length + 2;
    const headerEnd = body.indexOf('\r\n\r\n', headerStart);
    const next = body.indexOf(`\r\n${delimiter}`, headerEnd + 4);
    const headers: Record<string, string> = {};
    for (const line of body.toString('latin1', headerStart, headerEnd).split('\r\n')) {
      const colon = line.indexOf(':');
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    parts.push({ headers, body: body.subarray(headerEnd + 4, next) });
    at = next + 2;
  }
  return parts;
}

const SMARTACESSO: Partial<HikvisionEvent> = {
  eventType: 'AccessControllerEvent',
  eventState: 'active',
  family: 'access_control',
  isHeartbeat: false,
  employeeNo: '3',
  personName: 'Boss',
  cardNo: '1768',
  serialNo: '42',
  majorEventType: 5,
  minorEventType: 75,
  verifyResult: 'face verified',
  macAddress: 'bc:5e:33:5c:3a:db',
  ipAddress: '192.168.15.133',
  deviceName: 'cam 3',
  channelId: 1,
  dedupeKey: 'acs:bc:5e:33:5c:3a:db:42',
  documentFormat: 'json',
};

const PARKING: Partial<HikvisionEvent> = {
  eventType: 'vehiclePassingInParkingLot',
  family: 'vehicle',
  isHeartbeat: false,
  macAddress: null, // "ffffffe8:ffffffa0:ffffffed:3c:0": five groups, one byte lost on the device
  ipAddress: '192.168.15.235',
  deviceSerial: '12345',
  documentFormat: 'json',
  dedupeKey: null,
};

/** What each fixture must normalise to (a subset of fields), and for .http files the picture count. */
const EXPECTED: Record<string, { event: Partial<HikvisionEvent>; occurredAt?: string; pictures?: number }> = {
  'smartacesso__face_terminal_AccessControllerEvent_event_log.json': { event: SMARTACESSO, occurredAt: '2023-11-30T18:48:43.000Z' },
  'smartacesso__face_terminal_event_log_multipart_replayable.http': { event: SMARTACESSO, occurredAt: '2023-11-30T18:48:43.000Z', pictures: 1 },
  'smartacesso__face_terminal_event_log_multipart_jpeg_omitted.http': { event: SMARTACESSO, occurredAt: '2023-11-30T18:48:43.000Z', pictures: 1 },
  'bdzc__parking_enter_plateRecognition.http': {
    event: { ...PARKING, licensePlate: '川Q21C65', channelId: 1, activePostCount: 1 },
    occurredAt: '2026-04-11T22:29:24.000Z',
    pictures: 2,
  },
  'bdzc__parking_enter_plateRecognition__event_part.json': { event: { ...PARKING, licensePlate: '川Q21C65', channelId: 1 } },
  'bdzc__parking_enter_plateRecognition_noplate.http': { event: { ...PARKING, licensePlate: null, channelId: 2, activePostCount: 24 }, pictures: 1 },
  'bdzc__parking_enter_plateRecognition_noplate__event_part.json': { event: { ...PARKING, licensePlate: null, channelId: 2 } },
  'bdzc__parking_enter_stop.http': { event: { ...PARKING, licensePlate: '浙A2M283', channelId: 1 }, pictures: 2 },
  'bdzc__parking_enter_stop__event_part.json': { event: { ...PARKING, licensePlate: '浙A2M283' } },
  'bdzc__parking_enter_stop_noplate_no_plate_picture.http': { event: { ...PARKING, licensePlate: null }, pictures: 1 },
  'bdzc__parking_enter_stop_noplate_no_plate_picture__event_part.json': { event: { ...PARKING, licensePlate: null } },
  'bdzc__parking_exit_plateRecognition.http': { event: { ...PARKING, licensePlate: '浙A8K5H2', channelId: 3, activePostCount: 12 }, pictures: 2 },
  'bdzc__parking_exit_plateRecognition__event_part.json': { event: { ...PARKING, licensePlate: '浙A8K5H2', channelId: 3 } },
  'hikvision_next__nvr_2_fielddetection.xml': {
    event: {
      eventType: 'fielddetection',
      family: 'intrusion',
      channelId: 34,
      activePostCount: 174,
      deviceSerial: 'DS-7608NXI-I0/0P/S0000000000CCRRJ00000000WCVU',
      macAddress: null,
      ipAddress: null,
    },
    occurredAt: '2023-01-13T18:16:39.000Z',
  },
  'hikvision_next__fielddetection_human.xml': {
    event: { eventType: 'fielddetection', family: 'intrusion', ipAddress: '192.168.2.5', macAddress: 'ac:b9:2f:49:44:75', channelName: 'COUR NORD' },
  },
  'hikvision_next__fielddetection_vehicle.xml': { event: { ipAddress: '192.168.2.5' } },
  'hikvision_next__ipc1_anpr_plate_detected.xml': {
    event: {
      eventType: 'ANPR',
      family: 'vehicle',
      licensePlate: 'KH35192',
      dedupeKey: 'anpr:20230811134901822007gWpiNIuI14ikdwfKR5eDCzuV45RubEmi88qaD5w0YTq',
    },
  },
  'hikvision_next__ipc1_anpr_plate_unknown.xml': { event: { family: 'vehicle', licensePlate: null } },
  'gohikvision__peoplecounting_realtime_psia_ns.xml': {
    event: { eventType: 'PeopleCounting', family: 'people_counting', channelId: 1, macAddress: '84:9a:40:ec:f1:6d' },
    occurredAt: '2020-07-09T04:07:07.000Z',
  },
  'hikvision_next__ipc_1_fielddetection.xml': { event: { eventType: 'duration', family: 'intrusion', channelName: 'yard' } },
  'hikvision_next__ipc_thermometry_motiondetection.xml': { event: { eventType: 'VMD', family: 'motion', channelId: 2 } },
  'hikvision_next__motiondetection_human.xml': { event: { family: 'motion', activePostCount: 0, isHeartbeat: false } },
  'hikvision_next__pir.xml': {
    event: { eventType: 'PIR', family: 'other', activePostCount: 4268, deviceSerial: 'DS-2CD2443G0-IW00000000AAWRE00000000' },
  },
  'hikvision_next__vmd.xml': { event: { channelId: 1, channelName: null }, occurredAt: '2025-03-05T10:47:40.000Z' },
  'hikvision_next__cam1_DS-2CD2T46G2-ISU_io_notification.xml': { event: { eventType: 'IO', family: 'io', macAddress: '4f:e4:2f:81:cd:1b' } },
  'hikvision_next__nvr_targetType_human_psia_ext.xml': {
    event: { channelId: 5, deviceSerial: 'DS-7608NXI-K2/24404CVU0108CCRR0W8P0820AZ267', ipAddress: '192.168.1.1' },
  },
  'cameragate__linedetection_vehicle_empty_channelName.xml': { event: { family: 'intrusion', channelName: null, macAddress: '80:be:af:9e:2d:49' } },
  'cameragate__linedetection_vehicle_http_listening_crlf.xml': { event: { channelName: 'Camera 01' }, occurredAt: '2025-08-03T12:51:35.000Z' },
  'hiksink__cam_videoloss_inactive.xml': { event: { family: 'video', isHeartbeat: true, activePostCount: 0 } },
  'hiksink__ptz_videoloss_inactive.xml': { event: { family: 'video', isHeartbeat: true } },
  'hiksink__nvr_videoloss_active.xml': { event: { family: 'video', isHeartbeat: false, activePostCount: 1, channelId: 16 } },
  'hiksink__cam_VMD_active.xml': { event: { deviceSerial: 'DS-2CD2185FWD-I20180101AAWR111111111', macAddress: 'ff:ff:ff:ff:ff:ff' } },
};

/** Heartbeats vs events in each alertStream capture (counted independently from the raw text). */
const STREAM_COUNTS: Record<string, { parts: number; heartbeats: number; events: number }> = {
  // 349 videoloss/inactive idle notices.
  'hiksink__alertstream_samples_cam.jsonl.txt': { parts: 770, heartbeats: 349, events: 421 },
  // 3062 videoloss/active for dynChannelID 16, counting 1..3062: the first is the event, 3061 repeats.
  'hiksink__alertstream_samples_nvr.jsonl.txt': { parts: 5581, heartbeats: 3061, events: 2520 },
  // 75 videoloss/inactive idle notices.
  'hiksink__alertstream_samples_ptz.jsonl.txt': { parts: 1516, heartbeats: 75, events: 1441 },
};

describe.skipIf(!haveFixtures)(`device fixtures in ${fixturesDir}`, () => {
  it('knows how to replay every fixture kind', () => {
    const unknown = names.filter((n) => !isDoc(n) && !isHttp(n) && !isStream(n) && !isXml(n) && !isJson(n));
    expect(unknown).toEqual([]);
    for (const name of [...Object.keys(EXPECTED), ...Object.keys(STREAM_COUNTS)]) expect(names).toContain(name);
  });

  describe.each(names.filter((n) => isConfig(n)))('%s', (name) => {
    it("is a device configuration document, so 'not_an_event'", async () => {
      const failure = await failureOf(name);
      expect(failure.code).toBe('not_an_event');
      expect(failure.reason).toContain('HttpHostNotificationList');
    });
  });

  describe.each(names.filter((n) => (isXml(n) || isJson(n) || isHttp(n)) && !isConfig(n)))('%s', (name) => {
    it('parses into a normalised event', async () => {
      const { event, pictures } = await parseFixture(name);
      expect(event.eventType).toBeTruthy();
      expect(event.documentFormat).toBe(isXml(name) ? 'xml' : 'json');
      expect(event.document).not.toHaveProperty('EventNotificationAlert');
      expect(event.occurredAt).toBeInstanceOf(Date);
      if (!isHttp(name)) expect(pictures).toEqual([]);

      const expected = EXPECTED[name];
      if (expected) {
        expect(event).toMatchObject(expected.event);
        if (expected.occurredAt) expect(event.occurredAt?.toISOString()).toBe(expected.occurredAt);
        if (expected.pictures !== undefined) expect(pictures).toHaveLength(expected.pictures);
      }
    });
  });

  describe.each(names.filter(isHttp))('%s', (name) => {
    it('returns every picture byte for byte, whatever the per-part Content-Length says', async () => {
      const { headers, body } = splitHttpCapture(readFixture(name));
      const { pictures } = await parseRequest({ contentType: headers['content-type'], body });
      const pictureParts = rawParts(headers['content-type'] ?? '', body).filter((p) => p.headers['content-disposition']?.includes('filename="') && !p.headers['content-disposition'].includes('.xml'));
      expect(pictures).toHaveLength(pictureParts.length);
      pictureParts.forEach((part, i) => {
        const picture = pictures[i]!;
        expect(picture.index).toBe(i);
        expect(picture.bytes.equals(part.body)).toBe(true);
        if (sniffPictureType(part.body)) {
          // Real captures: accurate per-part lengths, JPEG magic, declared image/pjpeg → sniffed image/jpeg.
          expect(picture.bytes.length).toBe(Number(part.headers['content-length']));
          expect([...picture.bytes.subarray(0, 2)]).toEqual([0xff, 0xd8]);
          expect(picture.contentType).toBe('image/jpeg');
        } else {
          // The capture with its JPEG replaced by a note: keep the part, fall back to the declared type.
          expect(name).toContain('jpeg_omitted');
          expect(picture.contentType).toBe('image/jpeg');
          expect(picture.bytes.toString('latin1')).toContain('JPEG BYTES OMITTED');
        }
      });
    });
  });

  it('keeps "无车牌" ("no plate") in the document while the plate is null', async () => {
    const { event } = await parseFixture('bdzc__parking_enter_plateRecognition_noplate.http');
    expect(event.licensePlate).toBeNull();
    expect(event.document).toMatchObject({ VehiclePassingInParkingLot: { VehicleInfo: { plateNo: '无车牌' } } });
    expect(event.document).toMatchObject({ isDataRetransmission: 'false', macAddress: 'ffffffe8:ffffffa0:ffffffed:3c:0' });
  });

  it('parses the same event from the parking capture and from its extracted event part', async () => {
    const fromHttp = (await parseFixture('bdzc__parking_exit_plateRecognition.http')).event;
    const fromPart = (await parseFixture('bdzc__parking_exit_plateRecognition__event_part.json')).event;
    expect(fromHttp).toEqual(fromPart);
  });

  describe.each(names.filter(isStream))('%s', (name) => {
    it('parses every alertStream part and separates heartbeats from events', async () => {
      const lines = readFixture(name).toString('utf8').split('\n').filter((line) => line.trim() !== '');
      let heartbeats = 0;
      let events = 0;
      for (const line of lines) {
        const { content } = JSON.parse(line) as { content: string };
        const { event } = await parseRequest({ contentType: 'application/xml; charset="UTF-8"', body: Buffer.from(content, 'utf8') });
        if (event.isHeartbeat) {
          heartbeats += 1;
          expect(event.eventType).toBe('videoloss');
        } else events += 1;
      }
      const expected = STREAM_COUNTS[name];
      expect(expected, `add the counts for ${name}`).toBeDefined();
      expect({ parts: lines.length, heartbeats, events }).toEqual(expected);
    });
  });
});

describe.skipIf(haveFixtures)('device fixtures', () => {
  it.skip(MISSING_FIXTURES_MESSAGE, () => {});
});
