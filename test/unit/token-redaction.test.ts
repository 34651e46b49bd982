import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createPathToken, isIssuedPathToken, looksLikePathToken, PATH_TOKEN_LENGTH } from '../../libs/edge-auth/path-token.js';
import { findPathToken, redactTarget } from '../../libs/edge-auth/token-redaction.js';

/** Every character percent-encoded, as a client may send it. */
const percentEncoded = (text: string) => [...text].map((char) => `%${char.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`).join('');
/** A token issued before the hkp_ form: 32 random bytes, base64url. */
const oldFormToken = () => randomBytes(32).toString('base64url');

describe('path tokens hikhub issues', () => {
  it('have a fixed prefix, a fixed length, base62 characters and a checksum that catches a typo', () => {
    const tokens = Array.from({ length: 200 }, createPathToken);
    expect(new Set(tokens).size).toBe(tokens.length);
    for (const token of tokens) {
      expect(token).toMatch(/^hkp_[0-9A-Za-z]+$/);
      expect(token).toHaveLength(PATH_TOKEN_LENGTH);
      expect(isIssuedPathToken(token)).toBe(true);
      // Still a token for the store and for devices holding older ones.
      expect(looksLikePathToken(token)).toBe(true);
    }
    const token = tokens[0]!;
    const typo = token.slice(0, 10) + (token[10] === 'a' ? 'b' : 'a') + token.slice(11);
    expect(isIssuedPathToken(typo)).toBe(false);
    expect(isIssuedPathToken(`${token}x`)).toBe(false);
    expect(isIssuedPathToken(token.slice(0, -1))).toBe(false);
    expect(isIssuedPathToken(oldFormToken())).toBe(false);
  });
});

describe('token redaction of a request-target', () => {
  const token = createPathToken();

  it.each([
    ['the last segment', `/hikvision/events/${token}`, '/hikvision/events/:token', ''],
    ['the last segment with a trailing slash', `/hikvision/events/${token}/`, '/hikvision/events/:token/', ''],
    ['a segment with an extension', `/hikvision/events/${token}.xml`, '/hikvision/events/:token.xml', ''],
    ['a middle segment', `/hikvision/${token}/events`, '/hikvision/:token/events', ''],
    ['inside a segment', `/hikvision/events-${token}-door`, '/hikvision/events-:token-door', ''],
    ['a percent-encoded token', `/hikvision/events/${percentEncoded(token)}`, '/hikvision/events/:token', ''],
    ['a partly percent-encoded token', `/hikvision/events/${token.slice(0, 5)}%${token.charCodeAt(5).toString(16)}${token.slice(6)}`, '/hikvision/events/:token', ''],
    ['the query', `/hikvision/events?token=${token}`, '/hikvision/events', 'token=:token'],
    ['a percent-encoded query value among others', `/hikvision/events?channel=1&token=${percentEncoded(token)}&x=y`, '/hikvision/events', 'channel=1&token=:token&x=y'],
    ['a token with a typo (still a secret)', `/e/${token.slice(0, -1)}${token.endsWith('Z') ? 'Y' : 'Z'}/x`, '/e/:token/x', ''],
    ['a truncated token', `/e?t=${token.slice(0, 24)}`, '/e', 't=:token'],
  ])('redacts an issued token in %s', (_case, target, path, query) => {
    expect(redactTarget(target)).toEqual({ path, query });
    expect(JSON.stringify(redactTarget(target))).not.toContain(token.slice(4, 20));
  });

  it('redacts a token of the older form at least where it was (last segment), and now anywhere it forms a run', () => {
    const old = oldFormToken();
    expect(redactTarget(`/hikvision/events/${old}`)).toEqual({ path: '/hikvision/events/:token', query: '' });
    expect(redactTarget(`/hikvision/${old}/events/`)).toEqual({ path: '/hikvision/:token/events/', query: '' });
    expect(redactTarget(`/hikvision/events/${old}.xml`)).toEqual({ path: '/hikvision/events/:token.xml', query: '' });
    expect(redactTarget(`/hikvision/events/${percentEncoded(old)}`)).toEqual({ path: '/hikvision/events/:token', query: '' });
    expect(redactTarget(`/hikvision/events?token=${old}`)).toEqual({ path: '/hikvision/events', query: 'token=:token' });
  });

  it('leaves ordinary paths and queries as they are (escapes other than unreserved characters included)', () => {
    expect(redactTarget('/ISAPI/Event/notification/alertStream')).toEqual({ path: '/ISAPI/Event/notification/alertStream', query: '' });
    expect(redactTarget('/hikvision/events?channel=1&type=VMD')).toEqual({ path: '/hikvision/events', query: 'channel=1&type=VMD' });
    expect(redactTarget('/a%2Fb/c%20d?q=%3D%26')).toEqual({ path: '/a%2Fb/c%20d', query: 'q=%3D%26' });
    // Escaped unreserved characters are the characters themselves (RFC 3986 §2.3).
    expect(redactTarget('/hik%76ision/events')).toEqual({ path: '/hikvision/events', query: '' });
    expect(redactTarget('/hikvision/events/door-1/channel_12345')).toEqual({ path: '/hikvision/events/door-1/channel_12345', query: '' });
  });
});

describe('the token a request authenticates with', () => {
  const token = createPathToken();

  it('is an issued token anywhere in the path or query, encoded or not', () => {
    for (const target of [
      `/hikvision/events/${token}`,
      `/hikvision/events/${token}/`,
      `/hikvision/events/${token}.xml`,
      `/hikvision/${token}/events`,
      `/hikvision/events/${percentEncoded(token)}`,
      `/hikvision/events?channel=1&token=${token}`,
      // The same token twice is still one token.
      `/hikvision/${token}/events?token=${token}`,
    ]) {
      expect(findPathToken(target), target).toEqual({ kind: 'token', token });
    }
  });

  it('is an older-form token only as the whole last path segment, as before', () => {
    const old = oldFormToken();
    expect(findPathToken(`/hikvision/events/${old}`)).toEqual({ kind: 'token', token: old });
    expect(findPathToken(`/hikvision/events/${old}?channel=1`)).toEqual({ kind: 'token', token: old });
    expect(findPathToken(`/hikvision/${old}/events`)).toEqual({ kind: 'none' });
    expect(findPathToken(`/hikvision/events?token=${old}`)).toEqual({ kind: 'none' });
  });

  it('is an issued token before an older-form segment, and nothing when two issued tokens differ', () => {
    const old = oldFormToken();
    expect(findPathToken(`/hikvision/${token}/${old}`)).toEqual({ kind: 'token', token });
    expect(findPathToken(`/hikvision/${token}?token=${createPathToken()}`)).toEqual({ kind: 'ambiguous' });
  });

  it('is a look-alike (bad checksum) only where an older-form token would be: the whole last segment', () => {
    const typo = `${token.slice(0, -1)}${token.endsWith('Z') ? 'Y' : 'Z'}`;
    expect(findPathToken(`/hikvision/events/${typo}?channel=1`)).toEqual({ kind: 'token', token: typo });
    expect(findPathToken(`/hikvision/events/${typo}.xml`)).toEqual({ kind: 'none' });
    expect(findPathToken(`/hikvision/events?token=${typo}`)).toEqual({ kind: 'none' });
    expect(findPathToken('/hikvision/events')).toEqual({ kind: 'none' });
  });
});
