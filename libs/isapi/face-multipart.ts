import { randomBytes } from 'node:crypto';

/**
 * The FDSetUp / FaceDataRecord body. Terminals care about part order and names: the JSON part
 * `FaceDataRecord` comes first, then the image. Each part carries its own Content-Length because
 * some terminals otherwise swallow the trailing boundary into the JPEG.
 */

export interface FaceMultipart {
  body: Buffer;
  boundary: string;
}

export interface FaceMultipartOptions {
  /** `img` (most clients, tested on hardware) or `FaceImage` (documented name). */
  imagePartName?: string;
  boundary?: string;
}

export function faceDataRecord(employeeNo: string): Record<string, string> {
  return { faceLibType: 'blackFD', FDID: '1', FPID: employeeNo };
}

export function buildFaceMultipart(employeeNo: string, jpeg: Buffer, options: FaceMultipartOptions = {}): FaceMultipart {
  const json = Buffer.from(JSON.stringify(faceDataRecord(employeeNo)), 'utf8');
  const boundary = options.boundary ?? uniqueBoundary(jpeg);
  const imagePartName = headerSafe(options.imagePartName ?? 'img');
  const filename = `${headerSafe(employeeNo)}.jpg`;
  const body = Buffer.concat([
    Buffer.from(
      `--${boundary}\r\n` +
        'Content-Disposition: form-data; name="FaceDataRecord"\r\n' +
        'Content-Type: application/json\r\n' +
        `Content-Length: ${json.length}\r\n\r\n`,
      'latin1',
    ),
    json,
    Buffer.from(
      `\r\n--${boundary}\r\n` +
        `Content-Disposition: form-data; name="${imagePartName}"; filename="${filename}"\r\n` +
        'Content-Type: image/jpeg\r\n' +
        `Content-Length: ${jpeg.length}\r\n\r\n`,
      'latin1',
    ),
    jpeg,
    Buffer.from(`\r\n--${boundary}--\r\n`, 'latin1'),
  ]);
  return { body, boundary };
}

function uniqueBoundary(content: Buffer): string {
  for (;;) {
    const boundary = `----hikhub${randomBytes(12).toString('hex')}`;
    if (!content.includes(boundary)) return boundary;
  }
}

/** Quotes, CR and LF would break the part headers. */
const headerSafe = (value: string): string => value.replace(/["\r\n\\]/g, '_');
