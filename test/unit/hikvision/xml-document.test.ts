import { describe, expect, it } from 'vitest';
import { expectParseFailure, parseFailureOf } from '../../helpers/parse-failure.js';
import { exceedsDepth, MAX_XML_DEPTH, parseXmlDocument, parseXmlEventDocument } from '../../../libs/hikvision/xml-document.js';

const alert = (inner: string) => `<EventNotificationAlert version="2.0" xmlns="http://www.hikvision.com/ver20/XMLSchema">${inner}</EventNotificationAlert>`;

describe('XML safety', () => {
  it('refuses any DOCTYPE, so entity expansion cannot happen', async () => {
    const billionLaughs = `<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
${alert('<eventType>&lol2;</eventType>')}`;
    await expectParseFailure(() => parseXmlEventDocument(billionLaughs), 'forbidden_xml');
    await expectParseFailure(() => parseXmlEventDocument(`<!doctype x>${alert('')}`), 'forbidden_xml');
    await expectParseFailure(() => parseXmlEventDocument(`<!DOCTYPE x SYSTEM "file:///etc/passwd">${alert('<a>&xxe;</a>')}`), 'forbidden_xml');
  });

  it('refuses a stray ENTITY declaration', async () => {
    await expectParseFailure(() => parseXmlEventDocument(alert('<!ENTITY x "y"><eventType>VMD</eventType>')), 'forbidden_xml');
  });

  it(`caps nesting at ${MAX_XML_DEPTH} elements`, async () => {
    const nest = (depth: number) => `${'<a>'.repeat(depth - 1)}x${'</a>'.repeat(depth - 1)}`;
    expect(() => parseXmlEventDocument(alert(nest(MAX_XML_DEPTH)))).not.toThrow();
    await expectParseFailure(() => parseXmlEventDocument(alert(nest(MAX_XML_DEPTH + 1))), 'too_large');
    // Hostile depth is rejected by the pre-scan, before any parser runs.
    await expectParseFailure(() => parseXmlEventDocument('<a>'.repeat(200_000)), 'too_large');
  });

  it('counts depth past comments, CDATA, declarations, self-closing tags and quoted ">"', () => {
    expect(exceedsDepth('<?xml version="1.0"?><!-- <a><a><a> --><r><![CDATA[<a><a><a>]]><e/><e/></r>', 1)).toBe(false);
    expect(exceedsDepth('<r><a b="x>y"/><a b=\'>\'/></r>', 1)).toBe(false);
    expect(exceedsDepth('<r><a></a></r>', 1)).toBe(true);
  });

  it('caps the document size at 2 MiB', async () => {
    const big = alert(`<eventType>VMD</eventType><pad>${'x'.repeat(2 * 1024 * 1024)}</pad>`);
    await expectParseFailure(() => parseXmlEventDocument(big), 'too_large');
  });

  it('tolerates an unescaped & (toxuin/alarmserver #34) and still decodes real entities', () => {
    const content = parseXmlEventDocument(
      alert('<eventType>VMD</eventType><eventDescription>Motion & more &amp; &lt;x&gt;</eventDescription><url>a?b=1&c=2</url>'),
    );
    expect(content.eventType).toBe('VMD');
    expect(content.eventDescription).toBe('Motion & more & <x>');
    expect(content.url).toBe('a?b=1&c=2');
  });

  it('still rejects documents that are broken in other ways', async () => {
    await expectParseFailure(() => parseXmlEventDocument(alert('<eventType>VMD</eventTyp>')), 'malformed_xml');
    await expectParseFailure(() => parseXmlEventDocument(alert('<eventType>A & B</eventType><x>')), 'malformed_xml');
    await expectParseFailure(() => parseXmlEventDocument('<EventNotificationAlert><eventType>VMD</eventType>'), 'malformed_xml');
    await expectParseFailure(() => parseXmlEventDocument('<a/><b/>'), 'malformed_xml');
    await expectParseFailure(() => parseXmlEventDocument(alert('<__proto__><polluted>1</polluted></__proto__>')), 'malformed_xml');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('XML documents', () => {
  it('matches local names whatever the namespace or prefix', () => {
    const prefixed = `<?xml version="1.0" encoding="UTF-8"?>
<ns:EventNotificationAlert xmlns:ns="urn:psialliance-org"><ns:eventType>IO</ns:eventType></ns:EventNotificationAlert>`;
    expect(parseXmlEventDocument(prefixed)).toEqual({ eventType: 'IO' });
    expect(parseXmlEventDocument('<EventNotificationAlert><eventType>IO</eventType></EventNotificationAlert>')).toEqual({ eventType: 'IO' });
  });

  it('keeps values as trimmed strings and empty elements as empty strings', () => {
    const content = parseXmlEventDocument(alert('<activePostCount/><channelID>  34 </channelID><channelName></channelName>'));
    expect(content).toEqual({ activePostCount: '', channelID: '34', channelName: '' });
  });

  it('reports a non-event root by name', async () => {
    const failure = await parseFailureOf(() => parseXmlEventDocument('<HttpHostNotificationList><HttpHostNotification/></HttpHostNotificationList>'));
    expect(failure.code).toBe('not_an_event');
    expect(failure.reason).toContain('HttpHostNotificationList');
  });

  it('exposes the root name for any document', () => {
    expect(parseXmlDocument('<ResponseStatus><statusCode>1</statusCode></ResponseStatus>')).toEqual({
      root: 'ResponseStatus',
      content: { statusCode: '1' },
    });
  });
});
