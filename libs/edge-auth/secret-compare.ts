import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Compares a presented secret (admin token, password) with the expected one in time that depends
 * on neither their content nor their lengths: both are hashed to 32 bytes first.
 */
export function secretsEqual(given: string | undefined, expected: string): boolean {
  const a = createHash('sha256').update(given ?? '', 'utf8').digest();
  const b = createHash('sha256').update(expected, 'utf8').digest();
  return timingSafeEqual(a, b) && given !== undefined;
}
