import type { HikvisionEvent } from '../../libs/hikvision/event-model.js';
import { EVENT_ROOT } from '../../libs/hikvision/xml-document.js';
import { normalizeEvent } from '../../libs/hikvision/normalize.js';

/** Heartbeats are a few hundred bytes; anything bigger is not worth a second look. */
const MAX_SNIFF_BYTES = 4_096;
/** Elements inside the root: the root's children and theirs (an NVR's <Extensions>). */
const MAX_DEPTH = 2;
// Well-formed attributes only (quoted values without markup or entities): the full parser drops
// them, but refuses a document whose attributes are malformed, and so must this read.
const ATTRIBUTES = `(?:\\s+[A-Za-z_][\\w.:-]*\\s*=\\s*(?:"[^"<&]*"|'[^'<&]*'))*\\s*`;
// Printable ASCII and blanks only: no encoding question, no NUL, nothing Postgres would refuse.
const PLAIN_TEXT = /^[\t\n\r\x20-\x7e]*$/;
// No two adjacent blank runs: a long run of blanks cannot make the expression backtrack quadratically.
const DOCUMENT = new RegExp(`^\\s*(?:<\\?xml${ATTRIBUTES}\\?>\\s*)?<${EVENT_ROOT}${ATTRIBUTES}>([^]*)</${EVENT_ROOT}>\\s*$`);
// An opening tag without namespace prefix; its attributes are skipped, as the full parser drops them.
const OPEN_TAG = new RegExp(`\\s*<([A-Za-z_][\\w.-]*)${ATTRIBUTES}>`, 'y');
const TEXT = /[^<]*/y;
const BLANKS = /\s*/y;
// The only event types isHeartbeat (libs/hikvision/heartbeat.ts) can say yes to.
const MAY_BE_HEARTBEAT = /<eventType>\s*(?:heartbeat|videoloss)\s*<\/eventType>/i;
const ENTITIES: Readonly<Record<string, string>> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

type Fields = { [name: string]: string | Fields };

/**
 * The heartbeat path's cheap recognition: a camera or NVR's "still alive" notice is a small,
 * plain ISAPI document, read here with a few regular expressions instead of the full XML parser
 * (which costs more than everything else a heartbeat needs). The fields go through the same
 * normalizeEvent, so the device and the heartbeat verdict are the full parse's own. Anything
 * less plain — multipart, JSON, non-ASCII, namespace prefixes, comments, CDATA, self-closing or
 * repeated elements, other entities, deeper nesting — answers null and takes the full parse, as
 * does any document that is not a heartbeat. test/unit/heartbeat-sniff.test.ts holds it to the
 * full parser's result on every fixture.
 */
export function sniffHeartbeat(contentType: string | undefined, body: Buffer, defaultTimeZone: string | undefined): HikvisionEvent | null {
  if (body.length > MAX_SNIFF_BYTES || /^\s*multipart\//i.test(contentType ?? '')) return null;
  const text = body.toString('latin1');
  // Most documents are events: one look at eventType sends them on to the full parse at once.
  if (!MAY_BE_HEARTBEAT.test(text) || !PLAIN_TEXT.test(text)) return null;
  const inner = DOCUMENT.exec(text)?.[1];
  if (inner === undefined) return null;
  const document = readChildren(inner, 0, 1);
  if (document === null || inner.slice(document.end).trim() !== '') return null;
  const event = normalizeEvent(document.fields, 'xml', { defaultTimeZone });
  return event.isHeartbeat ? event : null;
}

/** The children of one element, from `at` up to the first closing tag (or the end). */
function readChildren(text: string, at: number, depth: number): { fields: Fields; end: number } | null {
  const fields: Fields = {};
  let position = at;
  for (;;) {
    OPEN_TAG.lastIndex = position;
    const open = OPEN_TAG.exec(text);
    if (open === null) {
      BLANKS.lastIndex = position;
      BLANKS.exec(text);
      return { fields, end: BLANKS.lastIndex };
    }
    const name = open[1]!;
    if (Object.hasOwn(fields, name)) return null; // repeated: the parser would make a list
    position = OPEN_TAG.lastIndex;
    TEXT.lastIndex = position;
    const content = TEXT.exec(text)![0];
    const close = `</${name}>`;
    if (text.startsWith(close, position + content.length)) {
      const value = decode(content);
      if (value === null) return null;
      fields[name] = value.trim();
      position += content.length + close.length;
      continue;
    }
    // Not text: nested elements (only blanks before them), within the depth allowed.
    if (content.trim() !== '' || depth >= MAX_DEPTH) return null;
    const nested = readChildren(text, position, depth + 1);
    if (nested === null || !text.startsWith(close, nested.end)) return null;
    fields[name] = nested.fields;
    position = nested.end + close.length;
  }
}

/** The five predefined entities; any other `&` is left to the full parser. */
function decode(text: string): string | null {
  if (!text.includes('&')) return text;
  let unknown = false;
  const decoded = text.replace(/&([a-z]*);?/g, (whole, name: string) => {
    const value = whole.endsWith(';') ? ENTITIES[name] : undefined;
    if (value === undefined) unknown = true;
    return value ?? whole;
  });
  return unknown ? null : decoded;
}
