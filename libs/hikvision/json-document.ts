import { ParseFailure } from './event-model.js';
import { EVENT_ROOT, MAX_DOCUMENT_BYTES } from './xml-document.js';

/**
 * JSON event documents (access control, parking terminals), compact or pretty-printed with TABs
 * and CRLF. The root must be an object with `eventType`, or `{ "EventNotificationAlert": {...} }`.
 */
export function parseJsonEventDocument(text: string): Record<string, unknown> {
  if (Buffer.byteLength(text, 'utf8') > MAX_DOCUMENT_BYTES) {
    throw new ParseFailure(`JSON document is larger than ${MAX_DOCUMENT_BYTES} bytes`, 'too_large');
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
