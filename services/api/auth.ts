import type { RequestHandler } from 'express';
import { secretsEqual } from '../../libs/edge-auth/secret-compare.js';
import { HttpError } from './errors.js';

/** `Authorization: Bearer <ADMIN_TOKEN>`, compared in constant time whatever its length. */
export function requireAdminToken(adminToken: string): RequestHandler {
  return (req, _res, next) => {
    const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(req.headers.authorization ?? '');
    const presented = match?.[1];
    if (presented !== undefined && secretsEqual(presented, adminToken)) return next();
    const message = presented === undefined ? 'send the admin token as Authorization: Bearer <token>' : 'the bearer token is not valid';
    next(new HttpError(401, 'unauthorized', message, {}, { 'www-authenticate': presented === undefined ? 'Bearer realm="hikhub"' : 'Bearer realm="hikhub", error="invalid_token"' }));
  };
}
