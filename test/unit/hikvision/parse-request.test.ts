import { describe, expect, it } from 'vitest';
import type { ParseFailureCode, ParseInput } from '../../../libs/hikvision/event-model.js';
import { MAX_PARTS } from '../../../libs/hikvision/multipart.js';
import { parseRequest } from '../../../libs/hikvision/parse-request.js';
import { expectParseFailure } from '../../helpers/parse-failure.js';

const VMD = `<EventNotificationAlert version="2.0" xmlns="http://www.hikvision.com/ver20/XMLSchema">
<ipAddress>192.168.1.64</ipAddress>
<macAddress>BC:5E:33:5C:3A:DB</macAddress>
<channelID>1</channelID>
<dateTime>2025-04-06T14:16:04+08:00</dateTime>
<activePostCount>1</activePostCount>
<eventType>VMD</eventType>
<eventState>active</eventState>
</EventNotificationAlert>`;

const JPEG = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.from('\r\n--not-the-boundary\r\n'), Buffer.from([0, 1, 2, 0xff, 0xd9])]);
const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d]);

const expectFailure = (input: ParseInput, code: ParseFailureCode) => expectParseFailure(() => parseRequest(input), code);

interface Part {
  headers: string[];
  body: Buffer | string;
}

function multipart(boundary: string, parts: Part[], { close = true, eol = '\r\n' } = {}): Buffer {
  const chunks: Buffer[] = [];
  for (const part of parts) {
    chunks.push(Buffer.from(`--${boundary}${eol}${part.headers.map((h) => h + eol).join('')}${eol}`));
    chunks.push(Buffer.isBuffer(part.body) ? part.body : Buffer.from(part.body));
    chunks.push(Buffer.from(eol));
  }
  if (close) chunks.push(Buffer.from(`--${boundary}--${eol}`));
  return Buffer.concat(chunks);
}

const eventPart = (body: string = VMD): Part => ({
  headers: ['Content-Disposition: form-data; name="MoveDetection.xml"; filename="MoveDetection.xml"', 'Content-Type: application/xml; charset="UTF-8"'],
  body,
});
const picturePart = (name: string, bytes: Buffer, type = 'image/jpeg'): Part => ({
  headers: [`Content-Disposition: form-data; name="${name}"; filename="${name}.jpg"`, `Content-Type: ${type}`],
  body: bytes,
});

describe('parseRequest: plain bodies', () => {
  it.each([
    'application/xml',
    'application/xml; charset="UTF-8"',
    'TEXT/XML',
    'application/json',
    'application/x-www-form-urlencoded',
    undefined,
  ])('recognises XML by its first character whatever the declared type (%s)', async (contentType) => {
    const { event, pictures } = await parseRequest({ contentType, body: Buffer.from(VMD) });
    expect(event.eventType).toBe('VMD');
    expect(event.documentFormat).toBe('xml');
    expect(pictures).toEqual([]);
  });

  it('recognises JSON labelled as XML', async () => {
    const body = Buffer.from('{\r\n\t"eventType":\t"heartBeat",\r\n\t"dateTime":\t"2025-01-01T00:00:00Z"\r\n}');
    const { event } = await parseRequest({ contentType: 'text/xml', body });
    expect(event).toMatchObject({ eventType: 'heartBeat', family: 'heartbeat', isHeartbeat: true, documentFormat: 'json' });
  });

  it('strips a UTF-8 BOM and leading blank lines', async () => {
    const body = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(`\r\n  ${VMD}`)]);
    expect((await parseRequest({ contentType: 'application/xml', body })).event.eventType).toBe('VMD');
  });

  it('decodes a document in the encoding its XML declaration names', async () => {
    const xml = `<?xml version="1.0" encoding="ISO-8859-1"?><EventNotificationAlert><eventType>VMD</eventType><channelName>Caf\xe9</channelName></EventNotificationAlert>`;
    const { event } = await parseRequest({ contentType: 'application/xml', body: Buffer.from(xml, 'latin1') });
    expect(event.channelName).toBe('Café');
  });

  it('rejects empty and blank bodies', async () => {
    await expectFailure({ contentType: 'application/xml', body: Buffer.alloc(0) }, 'empty_body');
    await expectFailure({ contentType: 'application/xml', body: Buffer.from(' \r\n\t') }, 'empty_body');
    await expectFailure({ contentType: 'multipart/form-data; boundary=x', body: Buffer.alloc(0) }, 'empty_body');
  });

  it('says what the body was when it is neither XML nor JSON', async () => {
    await expectFailure({ contentType: 'application/xml', body: Buffer.from('hello') }, 'malformed_xml');
    await expectFailure({ contentType: 'application/json', body: Buffer.from('hello') }, 'malformed_json');
    const failure = await expectFailure({ contentType: 'image/jpeg', body: JPEG }, 'unsupported_content_type');
    expect(failure.reason).toContain('0xff');
  });

  it('rejects JSON that is not an event object', async () => {
    await expectFailure({ contentType: 'application/json', body: Buffer.from('{"eventType": ') }, 'malformed_json');
    await expectFailure({ contentType: 'application/json', body: Buffer.from('[{"eventType":"VMD"}]') }, 'not_an_event');
    const failure = await expectFailure({ contentType: 'application/json', body: Buffer.from('{"statusCode":1,"statusString":"OK"}') }, 'not_an_event');
    expect(failure.reason).toContain('statusCode');
  });

  it('accepts JSON wrapped in an EventNotificationAlert object', async () => {
    const body = Buffer.from(JSON.stringify({ EventNotificationAlert: { eventType: 'IO', channelID: 2 } }));
    const { event } = await parseRequest({ contentType: 'application/json', body });
    expect(event).toMatchObject({ eventType: 'IO', family: 'io', channelId: 2 });
  });

  it('caps a plain document at 2 MiB', async () => {
    const body = Buffer.from(`{"eventType":"VMD","pad":"${'x'.repeat(2 * 1024 * 1024)}"}`);
    await expectFailure({ contentType: 'application/json', body }, 'too_large');
  });
});

describe('parseRequest: normalisation', () => {
  const parseXml = async (inner: string, defaultTimeZone?: string) =>
    (await parseRequest({ contentType: 'application/xml', body: Buffer.from(`<EventNotificationAlert>${inner}</EventNotificationAlert>`), defaultTimeZone })).event;
  const parseJson = async (doc: object) =>
    (await parseRequest({ contentType: 'application/json', body: Buffer.from(JSON.stringify(doc)) })).event;

  it('reads an empty activePostCount as null instead of crashing', async () => {
    const event = await parseXml('<eventType>videoloss</eventType><eventState>active</eventState><activePostCount/>');
    expect(event.activePostCount).toBeNull();
    expect(event.isHeartbeat).toBe(false);
  });

  it('takes channelID, else dynChannelID, and treats empty as missing', async () => {
    expect((await parseXml('<eventType>VMD</eventType><dynChannelID>16</dynChannelID>')).channelId).toBe(16);
    expect((await parseXml('<eventType>VMD</eventType><channelID></channelID><dynChannelID>5</dynChannelID>')).channelId).toBe(5);
    expect((await parseXml('<eventType>VMD</eventType><channelID>2</channelID><dynChannelID>5</dynChannelID>')).channelId).toBe(2);
    expect((await parseXml('<eventType>VMD</eventType><channelID></channelID>')).channelId).toBeNull();
    expect((await parseXml('<eventType>VMD</eventType><channelID>abc</channelID>')).channelId).toBeNull();
  });

  it('uses the IPv4 inside ::ffff: when ipAddress is a placeholder', async () => {
    const ip = async (inner: string) => (await parseXml(`<eventType>VMD</eventType>${inner}`)).ipAddress;
    expect(await ip('<ipAddress>0.0.0.0</ipAddress><ipv6Address>::FFFF:10.0.0.7</ipv6Address>')).toBe('10.0.0.7');
    expect(await ip('<ipAddress>1.0.0.255</ipAddress><ipv6Address>::ffff:192.168.2.5</ipv6Address>')).toBe('192.168.2.5');
    expect(await ip('<ipAddress>1.0.0.255</ipAddress>')).toBe('1.0.0.255');
    expect(await ip('<ipAddress>10.1.1.1</ipAddress><ipv6Address>::ffff:192.168.2.5</ipv6Address>')).toBe('10.1.1.1');
    expect(await ip('<ipv6Address>2804:1b2::1</ipv6Address>')).toBe('2804:1b2::1');
    expect(await ip('')).toBeNull();
  });

  it('tolerates protocolType, string booleans, leading spaces and case-varying names', async () => {
    const event = await parseJson({
      eventType: ' IO ',
      eventState: 'active',
      protocolType: 'HTTP',
      isDataRetransmission: 'false',
      macaddress: ' 4F:E4:2F:81:CD:1B',
      ChannelID: '3',
      dateTime: ' 2024-11-19T16:53:28+01:00',
    });
    expect(event).toMatchObject({ eventType: 'IO', family: 'io', macAddress: '4f:e4:2f:81:cd:1b', channelId: 3, deviceTime: '2024-11-19T16:53:28+01:00' });
    expect(event.occurredAt?.toISOString()).toBe('2024-11-19T15:53:28.000Z');
  });

  it('reads an offset-less time in the configured zone', async () => {
    const event = await parseXml('<eventType>VMD</eventType><dateTime>2025-04-06T14:16:04</dateTime>', 'Asia/Shanghai');
    expect(event.deviceTime).toBe('2025-04-06T14:16:04');
    expect(event.occurredAt?.toISOString()).toBe('2025-04-06T06:16:04.000Z');
    expect((await parseXml('<eventType>VMD</eventType><dateTime>2025-04-06T14:16:04</dateTime>')).occurredAt).toBeNull();
  });

  it('reads access-control fields and keys replays by device and serialNo', async () => {
    const event = await parseJson({
      ipAddress: '10.0.0.9',
      eventType: 'AccessControllerEvent',
      AccessControllerEvent: { majorEventType: 5, subEventType: 9, employeeNo: 17, cardNo: '99', serialNo: 1234, currentEvent: 'false' },
    });
    expect(event).toMatchObject({
      family: 'access_control',
      majorEventType: 5,
      minorEventType: 9,
      employeeNo: '17',
      cardNo: '99',
      serialNo: '1234',
      verifyResult: 'invalid card',
      dedupeKey: 'acs:10.0.0.9:1234',
    });
    const anonymous = await parseJson({ eventType: 'AccessControllerEvent', AccessControllerEvent: { majorEventType: 5, subEventType: 1 } });
    expect(anonymous.dedupeKey).toBeNull();
    const unknownDevice = await parseJson({ eventType: 'AccessControllerEvent', AccessControllerEvent: { serialNo: 7 } });
    expect(unknownDevice.dedupeKey).toBe('acs:unknown:7');
  });

  it('maps duration to the family of its relationEvent', async () => {
    const event = await parseXml('<eventType>duration</eventType><DurationList><Duration><relationEvent>linedetection</relationEvent></Duration><Duration><relationEvent>VMD</relationEvent></Duration></DurationList>');
    expect(event.family).toBe('intrusion');
  });

  it('keeps the document without the root wrapper', async () => {
    const event = await parseXml('<eventType>VMD</eventType><Extensions><serialNumber>\n  ABC\n  DEF\n</serialNumber></Extensions>');
    expect(event.document).toEqual({ eventType: 'VMD', Extensions: { serialNumber: 'ABC\n  DEF' } });
    expect(event.deviceSerial).toBe('ABCDEF');
  });
});

describe('parseRequest: multipart', () => {
  const B = '---------------------------7e13971310878';

  it('takes the event document and the pictures in order, bytes untouched', async () => {
    const body = multipart(B, [eventPart(), picturePart('detectionPicture', JPEG, 'image/pjpeg'), picturePart('licensePlatePicture', PNG)]);
    const { event, pictures } = await parseRequest({ contentType: `multipart/form-data; boundary=${B}`, body });
    expect(event.eventType).toBe('VMD');
    expect(pictures.map((p) => [p.index, p.partName, p.contentType])).toEqual([
      [0, 'detectionPicture', 'image/jpeg'],
      [1, 'licensePlatePicture', 'image/png'],
    ]);
    expect(pictures[0]?.bytes.equals(JPEG)).toBe(true);
    expect(pictures[1]?.bytes.equals(PNG)).toBe(true);
  });

  it('handles the parking terminal header style: no spaces, empty base name, trailing ";"', async () => {
    const json = JSON.stringify({ eventType: 'vehiclePassingInParkingLot', channelID: 1 });
    const body = multipart(B, [
      { headers: ['Content-Disposition: form-data;name=".xml";filename=".xml";', 'Content-Type: text/xml', 'Content-Length: 9999'], body: json },
      { headers: ['Content-Disposition: form-data; name="detectionPicture.jpg";filename="detectionPicture.jpg";', 'Content-Type: image/pjpeg'], body: JPEG },
    ]);
    const { event, pictures } = await parseRequest({ contentType: `multipart/form-data; boundary=${B}`, body });
    expect(event).toMatchObject({ eventType: 'vehiclePassingInParkingLot', documentFormat: 'json' });
    expect(pictures).toHaveLength(1);
    expect(pictures[0]?.partName).toBe('detectionPicture.jpg');
  });

  it('finds the event in a part without type or filename, and pictures without filename', async () => {
    const body = multipart('MIME_boundary', [
      { headers: ['Content-Disposition: form-data; name="linedetection"'], body: VMD },
      { headers: ['Content-Disposition: form-data; name="lineCrossImage"', 'Content-Type: image/jpeg', 'Content-ID: pictureImage'], body: JPEG },
    ]);
    const { event, pictures } = await parseRequest({ contentType: 'multipart/form-data; boundary="MIME_boundary"', body });
    expect(event.eventType).toBe('VMD');
    expect(pictures[0]?.bytes.equals(JPEG)).toBe(true);
  });

  // Parts without Content-Disposition are alertStream framing (a GET the device serves), not
  // what devices POST; such a body is quarantined with a reason rather than guessed at.
  it('quarantines multipart/mixed parts without Content-Disposition with a clear reason', async () => {
    const body = multipart('boundary', [
      { headers: ['Content-Type: application/xml; charset="UTF-8"', 'Content-Length: 1'], body: VMD },
      { headers: ['Content-Type: image/jpeg'], body: JPEG },
    ]);
    await expect(parseRequest({ contentType: 'multipart/mixed; boundary=boundary', body })).rejects.toMatchObject({ code: 'malformed_multipart' });
  });

  it('accepts a preamble and an epilogue', async () => {
    const framed = multipart('b', [eventPart(), picturePart('p', PNG)]);
    const body = Buffer.concat([Buffer.from('preamble\r\n'), framed, Buffer.from('epilogue')]);
    const { pictures } = await parseRequest({ contentType: 'multipart/form-data; boundary=b', body });
    expect(pictures[0]?.bytes.equals(PNG)).toBe(true);
  });

  it('uses the body boundary when it differs from the header', async () => {
    const body = multipart('real-boundary', [eventPart(), picturePart('p', JPEG)]);
    const { pictures } = await parseRequest({ contentType: 'multipart/form-data; boundary=declared', body });
    expect(pictures).toHaveLength(1);
  });

  it('skips a repeated delimiter line', async () => {
    const body = Buffer.concat([Buffer.from('--b\r\n'), multipart('b', [eventPart()])]);
    expect((await parseRequest({ contentType: 'multipart/form-data; boundary=b', body })).event.eventType).toBe('VMD');
  });

  it('uses the first part that is an event and ignores later documents', async () => {
    const config = '<HttpHostNotificationList><HttpHostNotification/></HttpHostNotificationList>';
    const body = multipart('b', [
      { headers: ['Content-Disposition: form-data; name="cfg"'], body: config },
      eventPart(),
      eventPart(VMD.replace('VMD', 'IO')),
    ]);
    const { event, pictures } = await parseRequest({ contentType: 'multipart/form-data; boundary=b', body });
    expect(event.eventType).toBe('VMD');
    expect(pictures).toEqual([]);
  });

  it('keeps a non-image file part as a picture with its declared image type', async () => {
    const body = multipart('b', [eventPart(), picturePart('Picture', Buffer.from('[JPEG BYTES OMITTED]'))]);
    const { pictures } = await parseRequest({ contentType: 'multipart/form-data; boundary=b', body });
    expect(pictures[0]?.contentType).toBe('image/jpeg');
    const untyped = multipart('b', [eventPart(), { headers: ['Content-Disposition: form-data; name="blob"; filename="x.bin"'], body: 'abc' }]);
    expect((await parseRequest({ contentType: 'multipart/form-data; boundary=b', body: untyped })).pictures[0]?.contentType).toBe('application/octet-stream');
  });

  it('reports why no part was an event', async () => {
    const config = '<HttpHostNotificationList/>';
    const failure = await expectFailure(
      { contentType: 'multipart/form-data; boundary=b', body: multipart('b', [{ headers: ['Content-Disposition: form-data; name="x.xml"'], body: config }]) },
      'not_an_event',
    );
    expect(failure.reason).toContain('x.xml');
    await expectFailure(
      { contentType: 'multipart/form-data; boundary=b', body: multipart('b', [picturePart('only', JPEG)]) },
      'no_event_document',
    );
    await expectFailure(
      { contentType: 'multipart/form-data; boundary=b', body: multipart('b', [eventPart('<!DOCTYPE x><EventNotificationAlert/>')]) },
      'forbidden_xml',
    );
  });

  it('rejects a multipart body without boundary, with no delimiter, or truncated', async () => {
    const body = multipart('b', [eventPart(), picturePart('p', JPEG)]);
    await expectFailure({ contentType: 'multipart/form-data', body }, 'malformed_multipart');
    await expectFailure({ contentType: 'multipart/form-data; boundary=', body }, 'malformed_multipart');
    await expectFailure({ contentType: 'multipart/form-data; boundary=zzz', body: Buffer.from(VMD) }, 'malformed_multipart');
    await expectFailure({ contentType: 'multipart/form-data; boundary=b', body: body.subarray(0, body.length - 20) }, 'malformed_multipart');
    await expectFailure({ contentType: 'multipart/form-data; boundary=b', body: multipart('b', [eventPart()], { close: false }) }, 'malformed_multipart');
    await expectFailure({ contentType: 'multipart/form-data; boundary=b', body: Buffer.from(`--b\r\nContent-Type: text/xml${'x'.repeat(20_000)}`) }, 'malformed_multipart');
  });

  it(`allows ${MAX_PARTS} parts and rejects more`, async () => {
    const pictures = (n: number) => Array.from({ length: n }, (_, i) => picturePart(`p${i}`, JPEG));
    const ok = multipart('b', [eventPart(), ...pictures(MAX_PARTS - 1)]);
    expect((await parseRequest({ contentType: 'multipart/form-data; boundary=b', body: ok })).pictures).toHaveLength(MAX_PARTS - 1);
    const tooMany = multipart('b', [eventPart(), ...pictures(MAX_PARTS)]);
    await expectFailure({ contentType: 'multipart/form-data; boundary=b', body: tooMany }, 'too_large');
  });

  it('caps document parts at 2 MiB and file parts at 20 MiB', async () => {
    const bigField = multipart('b', [{ headers: ['Content-Disposition: form-data; name="event"'], body: 'x'.repeat(2 * 1024 * 1024 + 1) }]);
    await expectFailure({ contentType: 'multipart/form-data; boundary=b', body: bigField }, 'too_large');
    const bigPicture = Buffer.alloc(20 * 1024 * 1024 + 1, 0xaa);
    JPEG.copy(bigPicture);
    await expectFailure({ contentType: 'multipart/form-data; boundary=b', body: multipart('b', [eventPart(), picturePart('p', bigPicture)]) }, 'too_large');
    const fine = Buffer.alloc(3 * 1024 * 1024, 0xaa);
    JPEG.copy(fine);
    const { pictures } = await parseRequest({ contentType: 'multipart/form-data; boundary=b', body: multipart('b', [eventPart(), picturePart('p', fine)]) });
    expect(pictures[0]?.bytes.length).toBe(fine.length);
  });
});
