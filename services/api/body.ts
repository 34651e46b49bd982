import express, { type Request, type RequestHandler } from 'express';
import { checkFaceJpeg, MAX_FACE_JPEG_BYTES } from '../../libs/isapi/face-jpeg.js';
import { badRequest, payloadTooLarge, unsupportedMediaType } from './errors.js';

export const JSON_BODY_LIMIT = 1024 * 1024;

const hasBody = (req: Request): boolean =>
  req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0');

const parseJson = express.json({ limit: JSON_BODY_LIMIT, strict: true, type: () => true });

/** A JSON body (up to 1 MiB). `optional`: an empty request stands for `{}`. */
export function jsonBody(options: { optional?: boolean } = {}): RequestHandler {
  return (req, res, next) => {
    if (!hasBody(req)) {
      if (!options.optional) return next(badRequest('expected a JSON body'));
      req.body = {};
      return next();
    }
    if (!req.is(['application/json', '+json'])) return next(unsupportedMediaType('send the body as Content-Type: application/json'));
    parseJson(req, res, next);
  };
}

// A little room above the device limit so an oversize photo gets the precise message below, not a bare 413.
const parseJpeg = express.raw({ limit: MAX_FACE_JPEG_BYTES + 4096, type: () => true });
const tooLargeMessage = `face photos are limited to ${MAX_FACE_JPEG_BYTES} bytes (200 KiB), the most Hikvision terminals accept; re-encode the JPEG smaller (about 180 KB is safe)`;

/** A face photo as raw `image/jpeg`, checked as a terminal would: JPEG markers and at most 200 KiB. Leaves the JPEG in `req.body`. */
export const jpegBody: RequestHandler = (req, res, next) => {
  if (!req.is('image/jpeg')) return next(unsupportedMediaType('send the face photo as the raw body with Content-Type: image/jpeg'));
  const declared = Number(req.headers['content-length']);
  if (declared > MAX_FACE_JPEG_BYTES) return next(payloadTooLarge(tooLargeMessage));
  parseJpeg(req, res, (error?: unknown) => {
    if ((error as { type?: string } | undefined)?.type === 'entity.too.large') return next(payloadTooLarge(tooLargeMessage));
    if (error) return next(error);
    const body: unknown = req.body;
    if (!Buffer.isBuffer(body) || body.length === 0) return next(badRequest('expected a JPEG body'));
    if (body.length > MAX_FACE_JPEG_BYTES) return next(payloadTooLarge(tooLargeMessage));
    const checked = checkFaceJpeg(body);
    if (!checked.ok) return next(badRequest(checked.reason));
    req.body = checked.jpeg;
    next();
  });
};
