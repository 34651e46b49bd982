import { randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';

/**
 * The path tokens hikhub issues: `hkp_` + 43 random base62 characters (~256 bits) + a 6-character
 * base62 CRC32 of what precedes it, e.g. `hkp_7Gx…Qa1b2C3`. The prefix makes a token findable
 * anywhere in a string (so it is redacted wherever a device puts it, like GitHub's `ghp_`), the
 * checksum tells a real token from a look-alike without asking Redis, and base62 keeps it one
 * "word" (no `-`/`_` inside to split it).
 *
 * Tokens issued before this form (43 base64url characters) still authenticate as the last path
 * segment: `looksLikePathToken` accepts both forms.
 */

export const PATH_TOKEN_PREFIX = 'hkp_';
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const RANDOM_CHARS = 43;
const CHECKSUM_CHARS = 6;
/** Length of an issued token: prefix + random part + checksum. */
export const PATH_TOKEN_LENGTH = PATH_TOKEN_PREFIX.length + RANDOM_CHARS + CHECKSUM_CHARS;
const ISSUED_FORM = new RegExp(`^${PATH_TOKEN_PREFIX}[0-9A-Za-z]{${RANDOM_CHARS + CHECKSUM_CHARS}}$`);

/** A new path token in the issued form. */
export function createPathToken(): string {
  let random = '';
  while (random.length < RANDOM_CHARS) {
    // 248 = 4 × 62: bytes above it are skipped so every character is equally likely.
    for (const byte of randomBytes(RANDOM_CHARS)) if (byte < 248 && random.length < RANDOM_CHARS) random += BASE62[byte % 62];
  }
  const body = PATH_TOKEN_PREFIX + random;
  return body + checksumOf(body);
}

/** True for a token in the issued form whose checksum matches (a typo or a guess is not). */
export function isIssuedPathToken(text: string): boolean {
  if (!ISSUED_FORM.test(text)) return false;
  const split = text.length - CHECKSUM_CHARS;
  return checksumOf(text.slice(0, split)) === text.slice(split);
}

/** What a string must look like to be looked up as a token at all (either form; saves Redis from guesses such as "events"). */
export function looksLikePathToken(text: string): boolean {
  return /^[A-Za-z0-9_-]{32,128}$/.test(text);
}

function checksumOf(body: string): string {
  let value = crc32(body);
  let text = '';
  for (let i = 0; i < CHECKSUM_CHARS; i++) {
    text = BASE62[value % 62]! + text;
    value = Math.floor(value / 62);
  }
  return text;
}
