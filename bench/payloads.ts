import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { uuidV7 } from '../libs/ids/uuid-v7.js';
import type { RequestRecord } from '../services/ingest/event-writer.js';
import { fixturesDir } from '../test/helpers/fixtures.js';

/** The three body sizes the Redis budget is stated for (the same ones test/integration/redis-memory checks). */
export const XML_EVENT_BYTES = 1_500;
export const FACE_EVENT_BYTES = 61_440;
export const PARKING_EVENT_BYTES = 505_636;

export const FACE_BOUNDARY = 'MIME_boundary';
export const FACE_CONTENT_TYPE = `multipart/form-data; boundary=${FACE_BOUNDARY}`;

const FACE_FIXTURE = path.join(fixturesDir, 'smartacesso__face_terminal_AccessControllerEvent_event_log.json');

/** Used when ../shared/fixtures is absent: the same AccessControllerEvent, shortened. */
const FALLBACK_FACE_EVENT = {
  ipAddress: '192.168.15.133',
  portNo: 8090,
  protocol: 'HTTP',
  macAddress: 'bc:5e:33:5c:3a:db',
  channelID: 1,
  dateTime: '2023-12-01T02:48:43+08:00',
  activePostCount: 1,
  eventType: 'AccessControllerEvent',
  eventState: 'active',
  eventDescription: 'Access Controller Event',
  AccessControllerEvent: {
    deviceName: 'cam 3',
    majorEventType: 5,
    subEventType: 75,
    cardNo: '1768',
    cardType: 1,
    name: 'Boss',
    cardReaderNo: 1,
    employeeNoString: '3',
    serialNo: 42,
    userType: 'normal',
    currentVerifyMode: 'cardOrFace',
    mask: 'no',
    picturesNumber: 1,
    FaceRect: { height: 0.304, width: 0.496, x: 0.5, y: 0.487 },
  },
};

let faceTemplate: { source: 'fixture' | 'built-in'; event: Record<string, unknown> } | undefined;

function template() {
  if (!faceTemplate) {
    faceTemplate = existsSync(FACE_FIXTURE)
      ? { source: 'fixture', event: JSON.parse(readFileSync(FACE_FIXTURE, 'utf8')) as Record<string, unknown> }
      : { source: 'built-in', event: FALLBACK_FACE_EVENT };
  }
  return faceTemplate;
}

const LINE_CROSSING_FIXTURE = path.join(fixturesDir, 'hiksink__cam_linedetection_active_regions.xml');

/** Used when ../shared/fixtures is absent: an ISAPI line-crossing alert of the same layout and size (made-up values). */
const FALLBACK_LINE_CROSSING = `<EventNotificationAlert version="2.0" xmlns="http://www.hikvision.com/ver20/XMLSchema">
<ipAddress>192.168.1.64</ipAddress>
<portNo>80</portNo>
<protocol>HTTP</protocol>
<macAddress>44:19:b6:00:00:01</macAddress>
<channelID>1</channelID>
<dateTime>2026-11-27T08:02:00+01:00</dateTime>
<activePostCount>7</activePostCount>
<eventType>linedetection</eventType>
<eventState>active</eventState>
<eventDescription>linedetection alarm</eventDescription>
<DetectionRegionList>
<DetectionRegionEntry>
<regionID>1</regionID>
<sensitivityLevel>50</sensitivityLevel>
<RegionCoordinatesList>
<RegionCoordinates>
<positionX>424</positionX>
<positionY>642</positionY>
</RegionCoordinates>
<RegionCoordinates>
<positionX>161</positionX>
<positionY>610</positionY>
</RegionCoordinates>
</RegionCoordinatesList>
</DetectionRegionEntry>
</DetectionRegionList>
<channelName>Gate camera</channelName>
<Extensions version="1.0" xmlns="urn:psialliance-org">
<serialNumber xmlns="urn:selfextension:psiaext-ver10-xsd">DS-2CD2185FWD-I20260101AAWR000000001</serialNumber>
<eventPush xmlns="urn:selfextension:psiaext-ver10-xsd">IO&amp;&amp;DS-2CD2185FWD-I20260101AAWR000000001,2026-11-27T08:02:00+01:00,1.0</eventPush>
</Extensions>
</EventNotificationAlert>
`;

export const LINE_CROSSING_CONTENT_TYPE = 'application/xml; charset="UTF-8"';

/**
 * A camera's line-crossing alert as it POSTs it: ISAPI XML, no picture, 1,253 bytes (the commonest
 * kind of event with motion and heartbeats). The captured one when ../shared/fixtures is there.
 */
export function lineCrossingEventBody(): Buffer {
  return existsSync(LINE_CROSSING_FIXTURE) ? readFileSync(LINE_CROSSING_FIXTURE) : Buffer.from(FALLBACK_LINE_CROSSING);
}

export function lineCrossingEventSource(): 'fixture' | 'built-in' {
  return existsSync(LINE_CROSSING_FIXTURE) ? 'fixture' : 'built-in';
}

/** Where the event_log JSON comes from: the captured face terminal event, or the built-in copy. */
/** A camera motion event as an NVR posts it: ISAPI XML, no picture (~500 bytes). */
export function motionEventBody(count: number): Buffer {
  return Buffer.from(
    `<?xml version="1.0" encoding="UTF-8"?>\n<EventNotificationAlert version="2.0" xmlns="http://www.hikvision.com/ver20/XMLSchema">\n` +
      `<ipAddress>192.168.1.64</ipAddress>\n<portNo>80</portNo>\n<protocol>HTTP</protocol>\n<macAddress>44:19:b6:00:00:${(count % 64).toString(16).padStart(2, '0')}</macAddress>\n` +
      `<channelID>${1 + (count % 8)}</channelID>\n<dateTime>2026-11-27T08:02:00+01:00</dateTime>\n<activePostCount>${count}</activePostCount>\n` +
      `<eventType>VMD</eventType>\n<eventState>active</eventState>\n<eventDescription>Motion alarm</eventDescription>\n</EventNotificationAlert>\n`,
  );
}

export const MOTION_CONTENT_TYPE = 'application/xml; charset="UTF-8"';

export function faceEventSource(): 'fixture' | 'built-in' {
  return template().source;
}

/** The event_log document of a face terminal, with its own serialNo (the archiver's dedupe key is device + serialNo). */
export function faceEventLog(serialNo: number): string {
  const event = structuredClone(template().event);
  const access = event.AccessControllerEvent;
  if (access && typeof access === 'object') (access as Record<string, unknown>).serialNo = serialNo;
  // The terminal's own layout: a tab after each colon, tab indentation.
  return JSON.stringify(event, null, '\t').replace(/":\s/g, '":\t');
}

/** JPEG-looking bytes: SOI + JFIF APP0 header, deterministic filler without 0xFF, EOI. */
export function jpegLikeBytes(size: number): Buffer {
  const header = Buffer.from([
    0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00,
  ]);
  const picture = Buffer.alloc(Math.max(size, header.length + 2));
  header.copy(picture);
  let state = 0x2545f491;
  for (let i = header.length; i < picture.length - 2; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    picture[i] = (state >>> 0) % 255; // never 0xFF: no stray JPEG markers
  }
  picture[picture.length - 2] = 0xff;
  picture[picture.length - 1] = 0xd9;
  return picture;
}

function partHeaders(lines: string[]): string {
  return `--${FACE_BOUNDARY}\r\n${lines.join('\r\n')}\r\n\r\n`;
}

/**
 * A face terminal's event POST as the device sends it: part `event_log` (AccessControllerEvent JSON)
 * and part `Picture` (image/jpeg). The picture is sized so the whole body is `totalBytes` long.
 */
export function faceEventBody(serialNo = 42, totalBytes = FACE_EVENT_BYTES): Buffer {
  const json = Buffer.from(faceEventLog(serialNo));
  const jsonHead = partHeaders([
    'Content-Disposition: form-data; name="event_log"',
    'Content-Type: application/json',
    `Content-Length: ${json.length}`,
  ]);
  const trailer = `\r\n--${FACE_BOUNDARY}--\r\n\r\n`;
  const pictureHead = (bytes: number) =>
    partHeaders([
      'Content-Disposition: form-data; name="Picture"; filename="Picture.jpg"',
      'Content-Type: image/jpeg',
      `Content-Length: ${bytes}`,
      'Content-ID: pictureImage',
    ]);
  const fixed = Buffer.byteLength(jsonHead) + json.length + 2 + Buffer.byteLength(trailer);
  // The picture's Content-Length header grows with its own digits: settle the size in two passes.
  let pictureBytes = totalBytes - fixed - Buffer.byteLength(pictureHead(0));
  pictureBytes = totalBytes - fixed - Buffer.byteLength(pictureHead(pictureBytes));
  return Buffer.concat([
    Buffer.from(jsonHead),
    json,
    Buffer.from('\r\n'),
    Buffer.from(pictureHead(pictureBytes)),
    jpegLikeBytes(pictureBytes),
    Buffer.from(trailer),
  ]);
}

/** The request record the ingest would make for a face terminal's POST of `body`, for benches that call its event writer directly. */
export function benchRequestRecord(contentType: string, body: Buffer): RequestRecord {
  const receivedAt = new Date();
  return {
    id: uuidV7(receivedAt.getTime()),
    receivedAt: receivedAt.toISOString(),
    remoteAddress: '192.168.15.133',
    method: 'POST',
    path: '/event/notification',
    query: '',
    headers: { 'content-type': contentType, 'content-length': String(body.length), host: '192.168.15.4:8090', 'user-agent': 'hikhub-bench' },
  };
}
