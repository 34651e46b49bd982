import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * The console's session cookie, stateless so any API replica can check it:
 * `v1.<expires epoch seconds>.<base64url HMAC-SHA256(key, "v1.<expires>")>`, the key derived
 * from the admin token — changing ADMIN_TOKEN signs every console out.
 */
export const SESSION_COOKIE = 'hikhub_session';
export const SESSION_LIFETIME_SECONDS = 12 * 60 * 60;

export class SessionSigner {
  private readonly key: Buffer;

  constructor(adminToken: string) {
    // A key of its own, so a cookie's MAC never doubles as anything signed with the token itself.
    this.key = createHmac('sha256', adminToken).update('hikhub console session v1').digest();
  }

  private mac(payload: string): Buffer {
    return createHmac('sha256', this.key).update(payload).digest();
  }

  issue(nowMs = Date.now()): { value: string; expiresAt: Date } {
    const expires = Math.floor(nowMs / 1000) + SESSION_LIFETIME_SECONDS;
    const payload = `v1.${expires}`;
    return { value: `${payload}.${this.mac(payload).toString('base64url')}`, expiresAt: new Date(expires * 1000) };
  }

  /** The expiry of a valid, unexpired cookie value; null for anything else. Constant time in the MAC. */
  verify(value: string | undefined, nowMs = Date.now()): Date | null {
    const match = /^v1\.(\d{1,12})\.([A-Za-z0-9_-]{43})$/.exec(value ?? '');
    if (!match) return null;
    const expected = this.mac(`v1.${match[1]}`);
    const presented = Buffer.from(match[2]!, 'base64url');
    if (presented.length !== expected.length || !timingSafeEqual(presented, expected)) return null;
    const expiresAt = new Date(Number(match[1]) * 1000);
    return expiresAt.getTime() > nowMs ? expiresAt : null;
  }
}

/** The value of one cookie from a Cookie header (first occurrence), without a cookie library. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq === -1) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1');
  }
  return undefined;
}

export function sessionCookieHeader(value: string, secure: boolean): string {
  return `${SESSION_COOKIE}=${value}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${SESSION_LIFETIME_SECONDS}${secure ? '; Secure' : ''}`;
}

export function clearedSessionCookieHeader(secure: boolean): string {
  return `${SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0${secure ? '; Secure' : ''}`;
}
