import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { ParseFailure } from './event-model.js';

/**
 * ISAPI XML documents, whatever namespace the firmware uses (ver10/ver20, isapi.org,
 * psialliance, OEM or none): prefixes are removed and only local element names are matched.
 * Attributes carry nothing we need and are dropped; values stay strings (normalize.ts converts).
 */

export const MAX_DOCUMENT_BYTES = 2 * 1024 * 1024;
export const MAX_XML_DEPTH = 64;
export const EVENT_ROOT = 'EventNotificationAlert';

// A DTD is the only way to declare entities; refusing it makes entity expansion impossible.
const FORBIDDEN_MARKUP = /<!(?:DOCTYPE|ENTITY)/i;
// `&` that does not start a character or entity reference (toxuin/alarmserver #34).
const BARE_AMPERSAND = /&(?![A-Za-z_][\w.-]*;|#\d+;|#x[0-9A-Fa-f]+;)/g;

const parser = new XMLParser({
  removeNSPrefix: true,
  ignoreAttributes: true,
  ignoreDeclaration: true,
  ignorePiTags: true,
  parseTagValue: false,
  trimValues: true,
  processEntities: true,
  htmlEntities: false,
  maxNestedTags: MAX_XML_DEPTH + 1,
});

export interface XmlDocument {
  /** Local name of the root element. */
  root: string;
  /** The root element's content. */
  content: Record<string, unknown>;
}

/** Parses any XML document safely; throws ParseFailure (forbidden_xml, too_large, malformed_xml). */
export function parseXmlDocument(text: string): XmlDocument {
  if (Buffer.byteLength(text, 'utf8') > MAX_DOCUMENT_BYTES) {
    throw new ParseFailure(`XML document is larger than ${MAX_DOCUMENT_BYTES} bytes`, 'too_large');
  }
  if (FORBIDDEN_MARKUP.test(text)) {
    throw new ParseFailure('XML document contains a DOCTYPE or ENTITY declaration; refused', 'forbidden_xml');
  }
  if (exceedsDepth(text, MAX_XML_DEPTH)) {
    throw new ParseFailure(`XML document nests deeper than ${MAX_XML_DEPTH} elements`, 'too_large');
  }
  const wellFormed = toleratingBareAmpersands(text);

  let parsed: unknown;
  try {
    parsed = parser.parse(wellFormed);
  } catch (error) {
    throw new ParseFailure(`XML document could not be parsed: ${(error as Error).message}`, 'malformed_xml');
  }
  const roots = typeof parsed === 'object' && parsed !== null ? Object.entries(parsed) : [];
  const first = roots[0];
  if (first === undefined) throw new ParseFailure('XML document has no root element', 'malformed_xml');
  if (roots.length > 1 || Array.isArray(first[1])) {
    throw new ParseFailure('XML document has more than one root element', 'malformed_xml');
  }
  const [root, value] = first;
  return { root, content: asContentObject(value) };
}

/** An ISAPI event notification; anything else (config documents, errors) is 'not_an_event'. */
export function parseXmlEventDocument(text: string): Record<string, unknown> {
  const { root, content } = parseXmlDocument(text);
  if (root.toLowerCase() !== EVENT_ROOT.toLowerCase()) {
    throw new ParseFailure(`XML root element is <${root}>, not <${EVENT_ROOT}>`, 'not_an_event');
  }
  return content;
}

/** Validates strictly; if the only problem is a bare `&`, escapes those and validates again. */
function toleratingBareAmpersands(text: string): string {
  const first = XMLValidator.validate(text);
  if (first === true) return text;
  if (first.err.msg.includes("'&'")) {
    const escaped = text.replace(BARE_AMPERSAND, '&amp;');
    const second = XMLValidator.validate(escaped);
    if (second === true) return escaped;
    throw malformed(second.err, ' (after escaping bare "&")');
  }
  throw malformed(first.err);
}

function malformed(err: { msg: string; line: number; col: number }, note = ''): ParseFailure {
  return new ParseFailure(`XML is not well-formed${note}: ${err.msg} (line ${err.line}, column ${err.col})`, 'malformed_xml');
}

function asContentObject(value: unknown): Record<string, unknown> {
  if (typeof value === 'object' && value !== null) return value as Record<string, unknown>;
  if (typeof value === 'string' && value !== '') return { '#text': value };
  return {};
}

/**
 * Cheap pre-scan of element nesting, run before any parser sees the text so a hostile document
 * cannot make a parser recurse. Tolerant of malformed input: it only counts.
 */
export function exceedsDepth(text: string, limit: number): boolean {
  let depth = 0;
  let i = text.indexOf('<');
  while (i !== -1 && i < text.length) {
    let end: number;
    if (text.startsWith('<!--', i)) end = afterToken(text, '-->', i + 4);
    else if (text.startsWith('<![CDATA[', i)) end = afterToken(text, ']]>', i + 9);
    else if (text[i + 1] === '?') end = afterToken(text, '?>', i + 2);
    else if (text[i + 1] === '!') end = afterToken(text, '>', i + 2);
    else {
      const close = tagEnd(text, i + 1);
      if (close === -1) return false;
      if (text[i + 1] === '/') depth -= 1;
      else if (text[close - 1] !== '/') {
        depth += 1;
        if (depth > limit) return true;
      }
      end = close + 1;
    }
    i = text.indexOf('<', end);
  }
  return false;
}

function afterToken(text: string, token: string, from: number): number {
  const at = text.indexOf(token, from);
  return at === -1 ? text.length : at + token.length;
}

/** Index of the `>` closing a tag, skipping quoted attribute values; -1 if none. */
function tagEnd(text: string, from: number): number {
  let quote: string | null = null;
  for (let i = from; i < text.length; i++) {
    const c = text[i];
    if (quote !== null) {
      if (c === quote) quote = null;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '>') return i;
  }
  return -1;
}
