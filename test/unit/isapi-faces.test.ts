import { describe, expect, it } from 'vitest';
import { buildFaceMultipart, checkFaceJpeg, MAX_FACE_JPEG_BYTES } from '../../libs/isapi/faces.js';

const SOI = Buffer.from([0xff, 0xd8, 0xff, 0xe0]);
const EOI = Buffer.from([0xff, 0xd9]);
const jpegOf = (payloadBytes: number): Buffer => Buffer.concat([SOI, Buffer.alloc(payloadBytes, 0x11), EOI]);

describe('checkFaceJpeg', () => {
  it('accepts a JPEG and returns it unchanged', () => {
    const jpeg = jpegOf(100);
    const result = checkFaceJpeg(jpeg);
    expect(result).toEqual({ ok: true, jpeg });
  });

  it('trims framing before SOI and bytes after EOI', () => {
    const jpeg = jpegOf(100);
    const result = checkFaceJpeg(Buffer.concat([Buffer.from('\r\n'), jpeg, Buffer.from('\r\n--boundary--\r\n')]));
    expect(result.ok && result.jpeg.equals(jpeg)).toBe(true);
  });

  it('rejects data without the JPEG magic', () => {
    const result = checkFaceJpeg(Buffer.from('\x89PNG\r\n\x1a\n0000', 'latin1'));
    expect(result).toEqual({ ok: false, reason: expect.stringMatching(/not a JPEG/) });
    expect(checkFaceJpeg(Buffer.alloc(0)).ok).toBe(false);
  });

  it('rejects a JPEG without end-of-image', () => {
    expect(checkFaceJpeg(Buffer.concat([SOI, Buffer.alloc(50, 0x11)]))).toEqual({ ok: false, reason: expect.stringMatching(/end-of-image/) });
  });

  it('accepts exactly 200 KB and rejects one byte more with a clear message', () => {
    expect(checkFaceJpeg(jpegOf(MAX_FACE_JPEG_BYTES - SOI.length - EOI.length)).ok).toBe(true);
    const tooBig = checkFaceJpeg(jpegOf(MAX_FACE_JPEG_BYTES - SOI.length - EOI.length + 1));
    expect(tooBig).toEqual({ ok: false, reason: expect.stringMatching(/204801 bytes.*at most 204800 bytes \(200 KB\)/) });
  });
});

/** Splits a multipart body by its boundary into parts of { headers, content }. */
function parseParts(body: Buffer, boundary: string): { headers: Record<string, string>; content: Buffer }[] {
  const text = body.toString('latin1');
  expect(text.startsWith(`--${boundary}\r\n`)).toBe(true);
  expect(text.endsWith(`\r\n--${boundary}--\r\n`)).toBe(true);
  const inner = text.slice(`--${boundary}\r\n`.length, text.length - `\r\n--${boundary}--\r\n`.length);
  return inner.split(`\r\n--${boundary}\r\n`).map((part) => {
    const split = part.indexOf('\r\n\r\n');
    const headers = Object.fromEntries(
      part.slice(0, split).split('\r\n').map((line) => {
        const colon = line.indexOf(':');
        return [line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim()];
      }),
    );
    return { headers, content: Buffer.from(part.slice(split + 4), 'latin1') };
  });
}

describe('buildFaceMultipart', () => {
  it('puts the FaceDataRecord JSON part first, then the image, each with its own Content-Length', () => {
    const jpeg = jpegOf(300);
    const { body, boundary } = buildFaceMultipart('10023', jpeg);
    const parts = parseParts(body, boundary);
    expect(parts).toHaveLength(2);
    const [record, image] = parts as [(typeof parts)[0], (typeof parts)[0]];
    expect(record.headers).toEqual({
      'content-disposition': 'form-data; name="FaceDataRecord"',
      'content-type': 'application/json',
      'content-length': String(record.content.length),
    });
    expect(JSON.parse(record.content.toString('utf8'))).toEqual({ faceLibType: 'blackFD', FDID: '1', FPID: '10023' });
    expect(image.headers).toEqual({
      'content-disposition': 'form-data; name="img"; filename="10023.jpg"',
      'content-type': 'image/jpeg',
      'content-length': String(jpeg.length),
    });
    expect(image.content.equals(jpeg)).toBe(true);
  });

  it('uses a configurable image part name and a boundary absent from the image', () => {
    const { body, boundary } = buildFaceMultipart('7', jpegOf(10), { imagePartName: 'FaceImage' });
    expect(parseParts(body, boundary)[1]?.headers['content-disposition']).toBe('form-data; name="FaceImage"; filename="7.jpg"');
    expect(boundary).toMatch(/^[-\w]{1,70}$/);
  });
});
