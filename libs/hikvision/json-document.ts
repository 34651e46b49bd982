import { ParseFailure } from './event-model.js';
import { EVENT_ROOT, MAX_DOCUMENT_BYTES, MAX_XML_DEPTH } from './xml-document.js';

/** Deeper documents are refused before parsing: everything downstream (normalising, pg-safe copies) walks them recursively. */
export const MAX_JSON_DEPTH = MAX_XML_DEPTH;

/**
 * JSON event documents (access control, parking terminals), compact or pretty-printed with TABs
 * and CRLF. The root must be an object with `eventType`, or `{ "EventNotificationAlert": {...} }`.
 */
export function parseJsonEventDocument(text: string): Record<string, unknown> {
  if (Buffer.byteLength(text, 'utf8') > MAX_DOCUMENT_BYTES) {
    throw new ParseFailure(`JSON document is larger than ${MAX_DOCUMENT_BYTES} bytes`, 'too_large');
  }
  if (exceedsJsonDepth(text, MAX_JSON_DEPTH)) {
    throw new ParseFailure(`JSON document nests deeper than ${MAX_JSON_DEPTH} levels`, 'too_large');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ParseFailure(`JSON could not be parsed: ${(error as Error).message}`, 'malformed_json');
  }
  if (!isPlainObject(parsed)) {
    const kind = Array.isArray(parsed) ? 'an array' : parsed === null ? 'null' : `a ${typeof parsed}`;
    throw new ParseFailure(`JSON root is ${kind}, not an event object`, 'not_an_event');
  }
  if ('eventType' in parsed) return parsed;
  const wrapped = parsed[EVENT_ROOT];
  if (isPlainObject(wrapped)) return wrapped;

  const keys = Object.keys(parsed).slice(0, 8).join(', ');
  throw new ParseFailure(`JSON object has no eventType (keys: ${keys || 'none'})`, 'not_an_event');
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Cheap pre-scan of `{`/`[` nesting outside strings; tolerant of malformed input (it only counts). */
export function exceedsJsonDepth(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > limit) return true;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return false;
}
