import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { HttpError } from './errors.js';

const digest = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

/**
 * `Authorization: Bearer <ADMIN_TOKEN>`. Digests are compared, not the strings: equal-length
 * inputs keep timingSafeEqual constant-time and the token's length leaks nothing.
 */
export function requireAdminToken(adminToken: string): RequestHandler {
  const expected = digest(adminToken);
  return (req, _res, next) => {
    const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(req.headers.authorization ?? '');
    const presented = match?.[1];
    if (presented !== undefined && timingSafeEqual(digest(presented), expected)) return next();
    const message = presented === undefined ? 'send the admin token as Authorization: Bearer <token>' : 'the bearer token is not valid';
    next(new HttpError(401, 'unauthorized', message, {}, { 'www-authenticate': presented === undefined ? 'Bearer realm="hikhub"' : 'Bearer realm="hikhub", error="invalid_token"' }));
  };
}
