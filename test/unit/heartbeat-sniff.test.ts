import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseRequest } from '../../libs/hikvision/parse-request.js';
import { sniffHeartbeat } from '../../services/archiver/heartbeat-sniff.js';
import { fixturesDir, haveFixtures } from '../helpers/fixtures.js';

const camera = (type: string, state: string, count = 0, extra = '') =>
  Buffer.from(
    `<?xml version="1.0" encoding="UTF-8"?>\n<EventNotificationAlert version="2.0" xmlns="http://www.hikvision.com/ver20/XMLSchema">\n` +
      `<ipAddress>10.1.2.3</ipAddress>\n<macAddress>44:19:B6:00:01:02</macAddress>\n<channelID>1</channelID>\n<dateTime>2026-11-27T08:02:00</dateTime>\n` +
      `<activePostCount>${count}</activePostCount>\n<eventType>${type}</eventType>\n<eventState>${state}</eventState>\n${extra}</EventNotificationAlert>\n`,
  );

/** The sniff must say exactly what the full parse says, or step aside. */
async function expectSameAsFullParse(body: Buffer, contentType = 'application/xml', zone?: string) {
  const sniffed = sniffHeartbeat(contentType, body, zone);
  const full = await parseRequest({ contentType, body, defaultTimeZone: zone }).then(
    (parsed) => parsed.event,
    () => null,
  );
  if (sniffed !== null) expect(sniffed).toEqual(full);
  return { sniffed, full };
}

describe('heartbeat sniff (the heartbeat path without the full XML parse)', () => {
  it('recognises plain camera heartbeats exactly as the full parse reads them', async () => {
    for (const body of [
      camera('videoloss', 'inactive'),
      camera('heartBeat', 'active'),
      camera('videoloss', 'active', 7), // an NVR repeating an ongoing loss
      camera('videoloss', 'inactive', 0, '<channelName></channelName>\n<Extensions version="1.0" xmlns="urn:psialliance-org">\n<serialNumber xmlns="urn:x">DS-2CD&amp;1</serialNumber>\n</Extensions>\n'),
    ]) {
      const { sniffed } = await expectSameAsFullParse(body, 'application/xml', 'Europe/Paris');
      expect(sniffed?.isHeartbeat).toBe(true);
    }
  });

  it('steps aside for events and for anything less plain', async () => {
    const cases: [Buffer, string?][] = [
      [camera('VMD', 'active')], // an event, not a heartbeat
      [camera('videoloss', 'active', 1)], // the first notice of a loss is an event
      [camera('videoloss', 'inactive', 0, '<a:x>1</a:x>\n')], // namespace prefix
      [camera('videoloss', 'inactive', 0, '<x>1</x><x>2</x>\n')], // repeated element
      [camera('videoloss', 'inactive', 0, '<x/>\n')], // self-closing
      [camera('videoloss', 'inactive', 0, '<x a=1>2</x>\n')], // unquoted attribute: the full parser refuses the document
      [Buffer.from('<EventNotificationAlert version=2.0><eventType>videoloss</eventType><eventState>inactive</eventState></EventNotificationAlert>')],
      [camera('videoloss', 'inactive', 0, '<!-- c -->\n')], // comment
      [camera('videoloss', 'inactive', 0, '<x><![CDATA[1]]></x>\n')], // CDATA
      [camera('videoloss', 'inactive', 0, '<x>&#38;</x>\n')], // numeric entity
      [camera('videoloss', 'inactive', 0, '<x>a & b</x>\n')], // bare ampersand
      [camera('videoloss', 'inactive', 0, '<a><b><c>1</c></b></a>\n')], // deeper nesting
      [camera('videoloss', 'inactive', 0, '<x>caf\u00e9</x>\n')], // not ASCII
      [camera('videoloss', 'inactive'), 'multipart/form-data; boundary=b'],
      [Buffer.from('{"eventType":"heartBeat","macAddress":"02:00:00:00:00:01"}'), 'application/json'],
      [Buffer.from('<EventNotificationAlert><eventType>videoloss</eventType><eventState>inactive</eventState></EventNotificationAlert><x/>')],
    ];
    for (const [body, contentType] of cases) {
      expect(sniffHeartbeat(contentType ?? 'application/xml', body, undefined)).toBeNull();
    }
  });

  it.skipIf(!haveFixtures)('agrees with the full parse on every captured XML document', async () => {
    let heartbeats = 0;
    for (const name of readdirSync(fixturesDir).filter((file) => file.endsWith('.xml'))) {
      const { sniffed, full } = await expectSameAsFullParse(readFileSync(join(fixturesDir, name)));
      if (sniffed) heartbeats++;
      // Never a heartbeat the full parse would archive as an event.
      if (full && !full.isHeartbeat) expect(sniffed, name).toBeNull();
    }
    expect(heartbeats).toBeGreaterThan(0);
  });
});
