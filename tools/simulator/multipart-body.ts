/**
 * multipart/form-data bodies the way Hikvision devices and ISAPI clients frame them: every part
 * with its own Content-Length, CRLF line ends, `--boundary--` at the end.
 */

export interface BodyPart {
  name: string;
  filename?: string;
  contentType?: string;
  /** Extra part headers, e.g. `Content-ID: pictureImage` on a terminal's event picture. */
  headers?: Record<string, string>;
  body: Buffer | string;
}

export const DEVICE_BOUNDARY = 'MIME_boundary';

export function buildMultipart(parts: readonly BodyPart[], boundary = DEVICE_BOUNDARY): Buffer {
  const chunks: Buffer[] = [];
  for (const part of parts) {
    const body = typeof part.body === 'string' ? Buffer.from(part.body, 'utf8') : part.body;
    const disposition = `form-data; name="${part.name}"${part.filename !== undefined ? `; filename="${part.filename}"` : ''}`;
    const headers = [
      `Content-Disposition: ${disposition}`,
      ...(part.contentType ? [`Content-Type: ${part.contentType}`] : []),
      `Content-Length: ${body.length}`,
      ...Object.entries(part.headers ?? {}).map(([name, value]) => `${name}: ${value}`),
    ];
    chunks.push(Buffer.from(`--${boundary}\r\n${headers.join('\r\n')}\r\n\r\n`, 'latin1'), body, Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return Buffer.concat(chunks);
}

export const multipartContentType = (boundary = DEVICE_BOUNDARY): string => `multipart/form-data; boundary=${boundary}`;
