import { describe, expect, it } from 'vitest';
import {
  createDigestAuthorization,
  digestHa1,
  formatDigestChallenge,
  parseDigestAuthorization,
  parseDigestChallenge,
  verifyDigestResponse,
} from '../../libs/digest/digest.js';

describe('digest', () => {
  it('computes the RFC 2617 example response', () => {
    const header = createDigestAuthorization(
      { realm: 'testrealm@host.com', nonce: 'dcd98b7102dd2f0e8b11d0f600bfb0c093', qop: 'auth,auth-int', opaque: '5ccc069c403ebaf9f0171e9517f40e41', stale: false },
      { username: 'Mufasa', password: 'Circle Of Life' },
      { method: 'GET', uri: '/dir/index.html', nc: 1, cnonce: '0a4f113b' },
    );
    expect(header).toContain('response="6629fae49393a05397450978507c4ef1"');
    expect(header).toContain('nc=00000001');
    const parsed = parseDigestAuthorization(header)!;
    expect(verifyDigestResponse(parsed, 'GET', digestHa1('Mufasa', 'testrealm@host.com', 'Circle Of Life'))).toBe(true);
    expect(verifyDigestResponse(parsed, 'POST', digestHa1('Mufasa', 'testrealm@host.com', 'Circle Of Life'))).toBe(false);
    expect(verifyDigestResponse(parsed, 'GET', digestHa1('Mufasa', 'testrealm@host.com', 'wrong'))).toBe(false);
  });

  it('parses the challenge a DS-K1T673 sends', () => {
    const nonce = Buffer.from('4e54a1b2:1685000000').toString('base64');
    const challenge = parseDigestChallenge(`Digest qop="auth", realm="DS-4D43F695", nonce="${nonce}", stale="false", opaque="", domain="::"`);
    expect(challenge).toEqual({ realm: 'DS-4D43F695', nonce, qop: 'auth', opaque: '', domain: '::', stale: false });
  });

  it('parses realms with spaces, brackets and commas, unquoted algorithm and upper-case stale', () => {
    expect(parseDigestChallenge('Digest qop="auth", realm="IP Camera(C2183), lobby", nonce="abc", stale="TRUE", algorithm=MD5')).toEqual({
      realm: 'IP Camera(C2183), lobby', nonce: 'abc', qop: 'auth', algorithm: 'MD5', stale: true,
    });
  });

  it('finds Digest among several challenges and ignores Basic-only', () => {
    expect(parseDigestChallenge(['Basic realm="x"', 'Digest realm="r", nonce="n", qop="auth"'])?.realm).toBe('r');
    expect(parseDigestChallenge('Basic realm="Digest thing"')).toBeNull();
  });

  it('formats a challenge in the device field order and round-trips it', () => {
    const text = formatDigestChallenge({ realm: 'IP Camera(SIM01)', nonce: 'bm9uY2U=', qop: 'auth', opaque: '', domain: '::', stale: true }, { staleCase: 'upper' });
    expect(text).toBe('Digest qop="auth", realm="IP Camera(SIM01)", nonce="bm9uY2U=", stale="TRUE", opaque="", domain="::"');
    expect(parseDigestChallenge(text)?.stale).toBe(true);
  });

  it('rejects non-MD5 algorithms and incomplete authorizations', () => {
    expect(() => createDigestAuthorization({ realm: 'r', nonce: 'n', algorithm: 'SHA-256', stale: false }, { username: 'u', password: 'p' }, { method: 'GET', uri: '/', nc: 1, cnonce: 'c' })).toThrow(/SHA-256/);
    expect(parseDigestAuthorization('Digest username="u", realm="r"')).toBeNull();
    expect(parseDigestAuthorization('Basic dTpw')).toBeNull();
  });
});
