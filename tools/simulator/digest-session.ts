import { randomBytes } from 'node:crypto';
import { createDigestAuthorization, parseDigestChallenge, type DigestChallenge, type DigestCredentials } from '../../libs/digest/digest.js';

/**
 * The client side of Digest as devices and careful clients use it: keep the last challenge and
 * answer it with nc = 1, 2, 3… until the server sends a new 401, then start over with that one.
 */
export class DigestSession {
  private challenge: DigestChallenge | null = null;
  private nc = 0;

  constructor(private readonly credentials: DigestCredentials) {}

  /** The Authorization header for the next request, or undefined before any challenge. */
  authorization(method: string, uri: string): string | undefined {
    if (!this.challenge) return undefined;
    this.nc += 1;
    return createDigestAuthorization(this.challenge, this.credentials, { method, uri, nc: this.nc, cnonce: randomBytes(8).toString('hex') });
  }

  /** Takes the challenge of a 401; false when it carries no Digest challenge. */
  accept(wwwAuthenticate: string | string[] | undefined): boolean {
    const challenge = parseDigestChallenge(wwwAuthenticate);
    if (!challenge) return false;
    this.challenge = challenge;
    this.nc = 0;
    return true;
  }
}
