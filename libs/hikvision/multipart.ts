import { Busboy, type BusboyFileStream } from '@fastify/busboy';
import { ParseFailure } from './event-model.js';

/**
 * Splits a multipart body (already fully in memory) into its parts, bytes untouched.
 *
 * @fastify/busboy, the maintained busboy fork undici uses, rather than busboy 1.6: busboy 1.6
 * silently drops every part of the parking terminals' requests, whose
 * `Content-Disposition: form-data;name=".xml";filename=".xml";` ends with `;` (QUIRKS.md).
 * Every part is taken as a file so document bytes are never decoded or re-encoded here;
 * per-part Content-Length headers are ignored (some devices get them wrong).
 */

export const MAX_PARTS = 32;
/** Parts that are not files (the event document): the document size cap. */
export const MAX_FIELD_BYTES = 2 * 1024 * 1024;
/** Parts with a filename or a binary type (pictures). */
export const MAX_FILE_BYTES = 20 * 1024 * 1024;
const MAX_BOUNDARY_LENGTH = 200;

export interface MultipartPart {
  /** Content-Disposition `name`, as sent. */
  name: string | null;
  /** Content-Disposition `filename`, as sent (may be ".xml" or empty). */
  filename: string | null;
  /** Lowercase `type/subtype` of the part's Content-Type, or null when it has none. */
  declaredType: string | null;
  bytes: Buffer;
}

/** The boundary parameter of a multipart content type, or null when missing or empty. */
export function multipartBoundary(contentType: string): string | null {
  const match = /;\s*boundary\s*=\s*(?:"([^"]*)"|([^;\s]*))/i.exec(contentType);
  const boundary = match?.[1] ?? match?.[2] ?? '';
  return boundary === '' || boundary.length > MAX_BOUNDARY_LENGTH ? null : boundary;
}

/**
 * Parts in request order. Rejects with ParseFailure: malformed_multipart (no usable boundary,
 * a body that ends inside a part) or too_large (more than MAX_PARTS parts, a non-file part
 * over MAX_FIELD_BYTES, a file part over MAX_FILE_BYTES).
 */
export function splitMultipart(contentType: string, body: Buffer): Promise<MultipartPart[]> {
  const declared = multipartBoundary(contentType);
  if (declared === null) {
    return Promise.reject(new ParseFailure(`multipart content type without a usable boundary: ${contentType}`, 'malformed_multipart'));
  }
  const boundary = boundaryInBody(declared, body);
  return new Promise((resolve, reject) => {
    const parts: Promise<MultipartPart>[] = [];
    let failure: ParseFailure | undefined;
    const fail = (error: ParseFailure) => {
      failure ??= error;
    };

    let parser: InstanceType<typeof Busboy>;
    try {
      parser = new Busboy({
        // The device's Content-Type decides the framing, whatever its subtype (form-data, mixed...).
        headers: { 'content-type': `multipart/form-data; boundary="${boundary.replace(/"/g, '')}"` },
        isPartAFile: () => true,
        limits: { parts: MAX_PARTS, files: MAX_PARTS, fileSize: MAX_FILE_BYTES, headerPairs: 64 },
      });
    } catch (error) {
      reject(new ParseFailure(`multipart framing not understood: ${(error as Error).message}`, 'malformed_multipart'));
      return;
    }

    parser.on('file', (name: string, stream: BusboyFileStream, filename: string | undefined, _encoding: string, mimeType: string) => {
      parts.push(collectPart(stream, name, filename, mimeType, fail));
    });
    parser.on('partsLimit', () => fail(new ParseFailure(`multipart body has more than ${MAX_PARTS} parts`, 'too_large')));
    parser.on('filesLimit', () => fail(new ParseFailure(`multipart body has more than ${MAX_PARTS} parts`, 'too_large')));
    parser.on('error', (error: Error) => fail(new ParseFailure(`multipart body is malformed: ${error.message}`, 'malformed_multipart')));
    parser.on('finish', () => {
      Promise.all(parts).then(
        (collected) => {
          if (failure) return reject(failure);
          if (collected.length === 0) return reject(new ParseFailure('multipart body has no parts (boundary not found)', 'malformed_multipart'));
          resolve(collected);
        },
        (error: unknown) => reject(error),
      );
    });
    parser.on('close', () => {
      if (failure) reject(failure);
    });
    parser.end(body);
  });
}

function collectPart(
  stream: BusboyFileStream,
  name: string,
  filename: string | undefined,
  mimeType: string,
  fail: (error: ParseFailure) => void,
): Promise<MultipartPart> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('limit', () => fail(new ParseFailure(`multipart part "${name}" is larger than ${MAX_FILE_BYTES} bytes`, 'too_large')));
    // A part cut short by a malformed body ends with an error; the parser reports the cause.
    stream.on('error', () => resolve(part()));
    stream.on('end', () => resolve(part()));
    const part = (): MultipartPart => {
      const collected: MultipartPart = {
        name: name || null,
        filename: filename ?? null,
        declaredType: mimeType ? (mimeType.split(';')[0]?.trim().toLowerCase() ?? null) : null,
        bytes: Buffer.concat(chunks),
      };
      const isFile = collected.filename !== null || collected.declaredType === 'application/octet-stream' || (collected.declaredType?.startsWith('image/') ?? false);
      if (!isFile && collected.bytes.length > MAX_FIELD_BYTES) {
        fail(new ParseFailure(`multipart part "${name}" is larger than ${MAX_FIELD_BYTES} bytes`, 'too_large'));
      }
      return collected;
    };
  });
}

/**
 * The body's own boundary. Some devices put a different boundary in the body than in the header
 * (QUIRKS.md); when the declared one never occurs and the body opens with a `--token` line, that
 * token is used.
 */
function boundaryInBody(declared: string, body: Buffer): string {
  if (body.includes(`--${declared}`, 0, 'latin1')) return declared;
  const firstLine = /^\s*--([^\r\n]{1,200})\r?\n/.exec(body.subarray(0, 256).toString('latin1'));
  const found = firstLine?.[1]?.trimEnd().replace(/--$/, '');
  return found || declared;
}
