import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * HTTP Digest (RFC 7616 subset) as Hikvision devices speak it: MD5, qop="auth".
 * Shared by the ISAPI client (hikhub → device), the device simulator and the ingest edge
 * (device → hikhub). Header parsing tolerates realms with spaces, brackets and commas.
 */

export interface DigestChallenge {
  realm: string;
  nonce: string;
  qop?: string;
  opaque?: string;
  algorithm?: string;
  domain?: string;
  stale: boolean;
}

export interface DigestCredentials {
  username: string;
  password: string;
}

export interface DigestAuthorization {
  username: string;
  realm: string;
  nonce: string;
  uri: string;
  response: string;
  qop?: string;
  nc?: string;
  cnonce?: string;
  opaque?: string;
  algorithm?: string;
}

export const md5Hex = (text: string): string => createHash('md5').update(text, 'utf8').digest('hex');

/** HA1 = MD5(username:realm:password); a server may store this instead of the password. */
export const digestHa1 = (username: string, realm: string, password: string): string => md5Hex(`${username}:${realm}:${password}`);

/** `key=value` / `key="quoted, value"` pairs after the scheme; keys lower-cased. */
export function parseAuthParams(text: string): Map<string, string> {
  const params = new Map<string, string>();
  const pattern = /\s*([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*,?/gy;
  let match: RegExpExecArray | null;
  while ((match = pattern.exec(text)) !== null && match[0].length > 0) {
    const key = match[1]!.toLowerCase();
    const value = match[2] !== undefined ? match[2].replace(/\\(.)/g, '$1') : (match[3] ?? '');
    if (!params.has(key)) params.set(key, value);
  }
  return params;
}

/** The Digest challenge in a WWW-Authenticate header (or one of several, e.g. `Basic …, Digest …`). */
export function parseDigestChallenge(header: string | string[] | undefined): DigestChallenge | null {
  const values = Array.isArray(header) ? header : header ? [header] : [];
  for (const value of values) {
    const start = value.search(/(^|[\s,])Digest\s/i);
    if (start < 0) continue;
    const params = parseAuthParams(value.slice(value.toLowerCase().indexOf('digest', start) + 6));
    const realm = params.get('realm');
    const nonce = params.get('nonce');
    if (realm === undefined || nonce === undefined) continue;
    const challenge: DigestChallenge = { realm, nonce, stale: (params.get('stale') ?? '').toLowerCase() === 'true' };
    for (const key of ['qop', 'opaque', 'algorithm', 'domain'] as const) {
      const v = params.get(key);
      if (v !== undefined) challenge[key] = v;
    }
    return challenge;
  }
  return null;
}

const quote = (value: string): string => `"${value.replace(/(["\\])/g, '\\$1')}"`;

/**
 * A challenge in the field order a DS-K1T673 uses:
 * `Digest qop="auth", realm="DS-4D43F695", nonce="…", stale="false", opaque="", domain="::"`.
 */
export function formatDigestChallenge(challenge: DigestChallenge, options: { staleCase?: 'lower' | 'upper' } = {}): string {
  const stale = challenge.stale ? 'true' : 'false';
  const parts = [
    `qop=${quote(challenge.qop ?? 'auth')}`,
    `realm=${quote(challenge.realm)}`,
    `nonce=${quote(challenge.nonce)}`,
    `stale=${quote(options.staleCase === 'upper' ? stale.toUpperCase() : stale)}`,
  ];
  if (challenge.opaque !== undefined) parts.push(`opaque=${quote(challenge.opaque)}`);
  if (challenge.domain !== undefined) parts.push(`domain=${quote(challenge.domain)}`);
  if (challenge.algorithm !== undefined) parts.push(`algorithm=${challenge.algorithm}`);
  return `Digest ${parts.join(', ')}`;
}

/** The `response` value for a request; `uri` is the exact request-target, query included. */
export function digestResponse(ha1: string, method: string, auth: Pick<DigestAuthorization, 'nonce' | 'uri' | 'qop' | 'nc' | 'cnonce'>): string {
  const ha2 = md5Hex(`${method.toUpperCase()}:${auth.uri}`);
  return auth.qop ? md5Hex(`${ha1}:${auth.nonce}:${auth.nc ?? ''}:${auth.cnonce ?? ''}:${auth.qop}:${ha2}`) : md5Hex(`${ha1}:${auth.nonce}:${ha2}`);
}

/** The Authorization header value answering `challenge`. `nc` is the count of uses of this nonce (1-based). */
export function createDigestAuthorization(
  challenge: DigestChallenge,
  credentials: DigestCredentials,
  request: { method: string; uri: string; nc: number; cnonce: string },
): string {
  if (challenge.algorithm && !/^md5$/i.test(challenge.algorithm)) throw new Error(`unsupported digest algorithm ${challenge.algorithm}`);
  const qop = challenge.qop?.split(',').map((q) => q.trim()).includes('auth') ? 'auth' : undefined;
  const nc = request.nc.toString(16).padStart(8, '0');
  const auth = { nonce: challenge.nonce, uri: request.uri, qop, nc: qop ? nc : undefined, cnonce: qop ? request.cnonce : undefined };
  const response = digestResponse(digestHa1(credentials.username, challenge.realm, credentials.password), request.method, auth);
  const parts = [
    `username=${quote(credentials.username)}`,
    `realm=${quote(challenge.realm)}`,
    `nonce=${quote(challenge.nonce)}`,
    `uri=${quote(request.uri)}`,
    `response=${quote(response)}`,
  ];
  if (qop) parts.push(`qop=${qop}`, `nc=${nc}`, `cnonce=${quote(request.cnonce)}`);
  if (challenge.opaque !== undefined) parts.push(`opaque=${quote(challenge.opaque)}`);
  if (challenge.algorithm) parts.push(`algorithm=${challenge.algorithm}`);
  return `Digest ${parts.join(', ')}`;
}

/** Parse a client's `Authorization: Digest …` header; null when it is not Digest or lacks a required field. */
export function parseDigestAuthorization(header: string | undefined): DigestAuthorization | null {
  if (!header || !/^\s*Digest\s/i.test(header)) return null;
  const params = parseAuthParams(header.replace(/^\s*Digest\s+/i, ''));
  const required = ['username', 'realm', 'nonce', 'uri', 'response'] as const;
  if (required.some((key) => params.get(key) === undefined)) return null;
  const auth: DigestAuthorization = {
    username: params.get('username')!,
    realm: params.get('realm')!,
    nonce: params.get('nonce')!,
    uri: params.get('uri')!,
    response: params.get('response')!,
  };
  for (const key of ['qop', 'nc', 'cnonce', 'opaque', 'algorithm'] as const) {
    const v = params.get(key);
    if (v !== undefined) auth[key] = v;
  }
  return auth;
}

/** Constant-time check of a client's response against the stored HA1. */
export function verifyDigestResponse(auth: DigestAuthorization, method: string, ha1: string): boolean {
  if (auth.qop !== undefined && (auth.qop !== 'auth' || !auth.nc || !auth.cnonce)) return false;
  const expected = Buffer.from(digestResponse(ha1, method, auth), 'utf8');
  const given = Buffer.from(auth.response.toLowerCase(), 'utf8');
  return expected.length === given.length && timingSafeEqual(expected, given);
}
