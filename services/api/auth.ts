import type { Request, RequestHandler } from 'express';
import type { TLSSocket } from 'node:tls';
import { createAddressMatcher } from '../../libs/edge-auth/address-list.js';
import { secretsEqual } from '../../libs/edge-auth/secret-compare.js';
import { HttpError } from './errors.js';
import { readCookie, SESSION_COOKIE, type SessionSigner } from './session.js';

/** The header a console page sends on every change, which a cross-site form cannot (CSRF defence beside SameSite=Strict). */
export const CONSOLE_HEADER = 'x-hikhub-console';
const SAFE_METHODS = new Set(['GET', 'HEAD']);

/** The one request that needs no credentials: signing in. */
const isSignIn = (req: Request) => `${req.baseUrl}${req.path}` === '/api/v1/session' && req.method === 'POST';

/**
 * `Authorization: Bearer <ADMIN_TOKEN>` (compared in constant time whatever its length) or the
 * console's session cookie. A cookie-authenticated change (not GET/HEAD) must also carry
 * `X-Hikhub-Console: 1`, else 403. `res.locals.auth` says which one let the request in.
 */
export function requireAdminAuth(adminToken: string, sessions: SessionSigner): RequestHandler {
  return (req, res, next) => {
    if (isSignIn(req)) return next();
    const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(req.headers.authorization ?? '');
    const presented = match?.[1];
    if (presented !== undefined) {
      if (secretsEqual(presented, adminToken)) {
        res.locals.auth = 'bearer';
        return next();
      }
      return next(new HttpError(401, 'unauthorized', 'the bearer token is not valid', {}, { 'www-authenticate': 'Bearer realm="hikhub", error="invalid_token"' }));
    }
    const expiresAt = sessions.verify(readCookie(req.headers.cookie, SESSION_COOKIE));
    if (expiresAt) {
      if (!SAFE_METHODS.has(req.method) && req.headers[CONSOLE_HEADER] !== '1') {
        return next(new HttpError(403, 'forbidden', `a change made with the console session must carry the header X-Hikhub-Console: 1`));
      }
      res.locals.auth = 'session';
      res.locals.sessionExpiresAt = expiresAt;
      return next();
    }
    next(new HttpError(401, 'unauthorized', 'send the admin token as Authorization: Bearer <token>, or sign in to the console', {}, { 'www-authenticate': 'Bearer realm="hikhub"' }));
  };
}

/** Whether the client reached us over https: a TLS socket, or X-Forwarded-Proto from a trusted proxy. */
export function createHttpsDetector(trustedProxies: readonly string[]): (req: Request) => boolean {
  const isTrusted = trustedProxies.length ? createAddressMatcher(trustedProxies) : () => false;
  return (req) => {
    if ((req.socket as TLSSocket).encrypted) return true;
    const forwarded = req.headers['x-forwarded-proto'];
    if (typeof forwarded !== 'string' || !isTrusted(req.socket.remoteAddress ?? '')) return false;
    // The proxy nearest to us appends last.
    return forwarded.split(',').at(-1)?.trim().toLowerCase() === 'https';
  };
}
