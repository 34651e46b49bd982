import { isIssuedPathToken, looksLikePathToken, PATH_TOKEN_PREFIX } from './path-token.js';

/**
 * Path tokens out of what is recorded, and the token a request authenticates with. Pure: the
 * edge guard calls it for every device POST, whatever INGEST_AUTH is, so a token never reaches
 * Redis, Postgres or a log.
 *
 * Percent-escapes of unreserved characters (RFC 3986 §2.3: `%68kp_…` is `hkp_…`) are decoded
 * first, so an encoded token is found too; other escapes (`%2F`, `%3D`, …) are kept, so the
 * path's structure does not change.
 */

const REDACTED_TOKEN = ':token';

/** Anything that starts like an issued token (prefix + at least 16 characters), wherever it is. */
const ISSUED_LIKE = new RegExp(`${PATH_TOKEN_PREFIX}[A-Za-z0-9]{16,}`, 'gi');
/**
 * A run of 32+ token characters (the older base64url form is 43): a whole path segment, a part
 * of one (`<token>.xml`), a query value. Greedy, so the whole run goes.
 */
const TOKEN_SHAPED_RUN = /[A-Za-z0-9_-]{32,}/g;
const ISSUED_CANDIDATE = new RegExp(`${PATH_TOKEN_PREFIX}[A-Za-z0-9]+`, 'g');
const ESCAPE = /%([0-9A-Fa-f]{2})/g;
const UNRESERVED = /^[A-Za-z0-9._~-]$/;

/** The path and query (without "?") as they may be recorded: every token-shaped run replaced by ":token". */
export function redactTarget(target: string): { path: string; query: string } {
  const [path, query] = splitTarget(decodeUnreserved(target));
  return { path: redact(path), query: redact(query) };
}

export type PathTokenFinding = { kind: 'none' } | { kind: 'token'; token: string } | { kind: 'ambiguous' };

/**
 * The token a request presents, unambiguously: an issued token (valid checksum) anywhere in the
 * path or query, or, when there is none, an older-form token as the whole last path segment (as
 * before issued tokens existed). Two different issued tokens: `ambiguous` (refused, none is tried).
 */
export function findPathToken(target: string): PathTokenFinding {
  const decoded = decodeUnreserved(target);
  const issued = new Set<string>();
  for (const [candidate] of decoded.matchAll(ISSUED_CANDIDATE)) if (isIssuedPathToken(candidate)) issued.add(candidate);
  if (issued.size > 1) return { kind: 'ambiguous' };
  if (issued.size === 1) return { kind: 'token', token: issued.values().next().value! };
  const [path] = splitTarget(decoded);
  const last = path.slice(path.lastIndexOf('/') + 1);
  return looksLikePathToken(last) ? { kind: 'token', token: last } : { kind: 'none' };
}

function redact(text: string): string {
  return text.replace(ISSUED_LIKE, REDACTED_TOKEN).replace(TOKEN_SHAPED_RUN, REDACTED_TOKEN);
}

function splitTarget(target: string): [path: string, query: string] {
  const queryIndex = target.indexOf('?');
  return queryIndex === -1 ? [target, ''] : [target.slice(0, queryIndex), target.slice(queryIndex + 1)];
}

function decodeUnreserved(text: string): string {
  if (!text.includes('%')) return text;
  return text.replace(ESCAPE, (escape, hex: string) => {
    const char = String.fromCharCode(Number.parseInt(hex, 16));
    return UNRESERVED.test(char) ? char : escape;
  });
}
