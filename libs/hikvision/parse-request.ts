import { ParseFailure, type EventPicture, type ParsedRequest, type ParseInput } from './event-model.js';
import { parseJsonEventDocument } from './json-document.js';
import { splitMultipart, type MultipartPart } from './multipart.js';
import { normalizeEvent, type NormalizeOptions } from './normalize.js';
import { sniffPictureType, type PictureType } from './picture-type.js';
import { MAX_DOCUMENT_BYTES, parseXmlEventDocument } from './xml-document.js';

/**
 * Entry point: the body of one device request → one normalised event plus its pictures, or a
 * ParseFailure saying precisely why not (the caller quarantines the body with that reason).
 *
 * Declared content types are only trusted to choose multipart framing: devices label JSON as
 * text/xml and XML as application/x-www-form-urlencoded, so documents are recognised by their
 * first character.
 */
export async function parseRequest(input: ParseInput): Promise<ParsedRequest> {
  const { body } = input;
  if (isBlank(body)) throw new ParseFailure('request body is empty', 'empty_body');

  const contentType = (input.contentType ?? '').trim();
  const options: NormalizeOptions = { defaultTimeZone: input.defaultTimeZone };
  if (/^multipart\//i.test(contentType)) return parseMultipartRequest(contentType, body, options);

  const document = parseEventDocument(body, contentType);
  return { event: normalizeEvent(document.content, document.format, options), pictures: [] };
}

interface EventDocument {
  format: 'xml' | 'json';
  content: Record<string, unknown>;
}

/** The first part that is an event document is the event; image and file parts are its pictures. */
async function parseMultipartRequest(contentType: string, body: Buffer, options: NormalizeOptions): Promise<ParsedRequest> {
  const parts = await splitMultipart(contentType, body);
  let document: EventDocument | null = null;
  const failures: ParseFailure[] = [];
  const pictures: EventPicture[] = [];

  for (const part of parts) {
    const sniffed = sniffPictureType(part.bytes);
    const isDocumentLike = sniffed === null && documentFormat(part.bytes) !== null;
    if (document === null && isDocumentLike) {
      try {
        document = parseEventDocument(part.bytes, part.declaredType ?? '');
        continue;
      } catch (error) {
        if (!(error instanceof ParseFailure)) throw error;
        failures.push(new ParseFailure(`part ${describePart(part)}: ${error.reason}`, error.code));
      }
    }
    if (isPicturePart(part, sniffed, isDocumentLike)) {
      pictures.push({
        index: pictures.length,
        partName: part.name,
        contentType: sniffed?.mime ?? declaredPictureType(part),
        bytes: part.bytes,
      });
    }
  }

  if (document === null) {
    throw (
      failures[0] ??
      new ParseFailure(
        `none of the ${parts.length} multipart parts is an event document (${parts.map(describePart).join(', ') || 'no parts'})`,
        'no_event_document',
      )
    );
  }
  return { event: normalizeEvent(document.content, document.format, options), pictures };
}

/** A single XML or JSON event document, recognised by its first non-blank character. */
function parseEventDocument(bytes: Buffer, declaredType: string): EventDocument {
  if (bytes.length > MAX_DOCUMENT_BYTES + 3) {
    throw new ParseFailure(`event document is larger than ${MAX_DOCUMENT_BYTES} bytes`, 'too_large');
  }
  const format = documentFormat(bytes);
  const text = decodeDocumentText(bytes);
  if (format === 'xml') return { format, content: parseXmlEventDocument(text) };
  if (format === 'json') return { format, content: parseJsonEventDocument(text) };

  const type = declaredType.toLowerCase();
  const firstByte = bytes.find((b) => !isBlankByte(b)) ?? 0;
  const start = `starts with byte 0x${firstByte.toString(16).padStart(2, '0')}`;
  if (type.includes('xml')) throw new ParseFailure(`declared ${declaredType} but the body ${start}, not "<"`, 'malformed_xml');
  if (type.includes('json')) throw new ParseFailure(`declared ${declaredType} but the body ${start}, not "{"`, 'malformed_json');
  throw new ParseFailure(
    `body is neither XML nor JSON (declared ${declaredType || 'no content type'}, ${start})`,
    'unsupported_content_type',
  );
}

const UTF8_BOM = [0xef, 0xbb, 0xbf];

function documentFormat(bytes: Buffer): 'xml' | 'json' | null {
  const hasBom = UTF8_BOM.every((b, i) => bytes[i] === b);
  for (let i = hasBom ? 3 : 0; i < bytes.length; i++) {
    const byte = bytes[i]!;
    if (isBlankByte(byte)) continue;
    if (byte === 0x3c) return 'xml';
    if (byte === 0x7b || byte === 0x5b) return 'json';
    return null;
  }
  return null;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });
const XML_ENCODING = /^\s*<\?xml[^>]*?\bencoding\s*=\s*["']([\w.:-]+)["']/;

/**
 * UTF-8 (BOM removed) as devices almost always send; an encoding named in the XML declaration
 * when it is another one; Latin-1 for bytes that are not UTF-8, so nothing is ever replaced.
 */
function decodeDocumentText(bytes: Buffer): string {
  const declared = XML_ENCODING.exec(bytes.subarray(0, 200).toString('latin1'))?.[1]?.toLowerCase();
  if (declared !== undefined && !/^utf-?(8|16)/.test(declared)) {
    try {
      return new TextDecoder(declared).decode(bytes);
    } catch {
      // Unknown label: fall through to UTF-8.
    }
  }
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return bytes.toString('latin1');
  }
}

function isPicturePart(part: MultipartPart, sniffed: PictureType | null, isDocumentLike: boolean): boolean {
  if (sniffed !== null || (part.declaredType?.startsWith('image/') ?? false)) return true;
  return part.filename !== null && !isDocumentLike;
}

/** Bytes that are not a known image: the declared image type, else nothing more specific than octets. */
function declaredPictureType(part: MultipartPart): string {
  const declared = part.declaredType;
  return declared?.startsWith('image/') ? declared : 'application/octet-stream';
}

function describePart(part: MultipartPart): string {
  const file = part.filename === null ? '' : ` (file "${part.filename}")`;
  return `"${part.name ?? ''}"${file} ${part.declaredType ?? 'untyped'}, ${part.bytes.length} bytes`;
}

function isBlankByte(byte: number): boolean {
  return byte === 0x20 || byte === 0x09 || byte === 0x0a || byte === 0x0d;
}

function isBlank(body: Buffer): boolean {
  const hasBom = UTF8_BOM.every((b, i) => body[i] === b);
  for (let i = hasBom ? 3 : 0; i < body.length; i++) if (!isBlankByte(body[i]!)) return false;
  return true;
}
