import type { Router } from 'express';
import { z } from 'zod';
import { secretsEqual } from '../../../libs/edge-auth/secret-compare.js';
import { jsonBody } from '../body.js';
import { API_PREFIX, type ApiContext } from '../context.js';
import { HttpError } from '../errors.js';
import { clearedSessionCookieHeader, sessionCookieHeader } from '../session.js';
import { parse } from '../validation.js';

const signInSchema = z.strictObject({ token: z.string().min(1, 'must not be empty').max(1024, 'at most 1024 characters') });

/** The console signs in with the admin token once and then holds a 12-hour HttpOnly cookie (see auth.ts). */
export function registerSessionRoutes(router: Router, { adminToken, sessions, isHttps }: ApiContext): void {
  const path = `${API_PREFIX}/session`;

  router.post(path, jsonBody(), (req, res) => {
    const { token } = parse(signInSchema, req.body);
    if (!secretsEqual(token, adminToken)) throw new HttpError(401, 'unauthorized', 'the admin token is not valid');
    const session = sessions.issue();
    res.status(204).set('set-cookie', sessionCookieHeader(session.value, isHttps(req))).end();
  });

  router.get(path, (_req, res) => {
    const expiresAt = res.locals.sessionExpiresAt as Date | undefined;
    res.json({ authenticated: true, expiresAt: expiresAt?.toISOString() ?? null, via: res.locals.auth as string });
  });

  router.delete(path, (req, res) => {
    res.status(204).set('set-cookie', clearedSessionCookieHeader(isHttps(req))).end();
  });
}
