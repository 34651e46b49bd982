/**
 * Face photos as terminals accept them. Devices reject JPEGs over ~200 KB with a misleading
 * `badJsonFormat "faceURL"`, and bytes around the image (framing, padding) fail face modelling
 * (`SubpicAnalysisModelingError`), so we check and trim before upload.
 */

export const MAX_FACE_JPEG_BYTES = 204_800;

export type FaceJpegCheck = { ok: true; jpeg: Buffer } | { ok: false; reason: string };

export function checkFaceJpeg(buffer: Buffer): FaceJpegCheck {
  // Leading whitespace/CRLF is framing left over from transports; anything else is not a JPEG.
  let start = 0;
  while (start < buffer.length && [0x20, 0x09, 0x0d, 0x0a].includes(buffer[start]!)) start++;
  if (buffer.length - start < 4 || buffer[start] !== 0xff || buffer[start + 1] !== 0xd8 || buffer[start + 2] !== 0xff) {
    return { ok: false, reason: 'not a JPEG: the data does not start with the JPEG marker FF D8 FF' };
  }
  const endOfImage = buffer.lastIndexOf(Buffer.from([0xff, 0xd9]));
  if (endOfImage < start + 2) return { ok: false, reason: 'truncated JPEG: no end-of-image marker (FF D9)' };
  const jpeg = buffer.subarray(start, endOfImage + 2);
  if (jpeg.length > MAX_FACE_JPEG_BYTES) {
    return {
      ok: false,
      reason: `JPEG is ${jpeg.length} bytes; devices accept at most ${MAX_FACE_JPEG_BYTES} bytes (200 KB). Re-encode it smaller (about 180 KB is safe).`,
    };
  }
  return { ok: true, jpeg };
}
