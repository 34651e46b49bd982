import { describe, expect, it } from 'vitest';
import { createClientAddressResolver, normalizeAddress } from '../../services/ingest/client-address.js';
import { requestTarget } from '../../services/ingest/app.js';

describe('client address', () => {
  it('uses the socket peer when no proxy is trusted', () => {
    const resolve = createClientAddressResolver([]);
    expect(resolve('::ffff:192.168.1.64', '1.2.3.4')).toBe('192.168.1.64');
  });

  it('takes the right-most untrusted hop behind trusted proxies', () => {
    const resolve = createClientAddressResolver(['10.0.0.0/8', '127.0.0.1']);
    expect(resolve('10.1.2.3', '203.0.113.7, 10.9.9.9')).toBe('203.0.113.7');
    expect(resolve('127.0.0.1', 'spoofed, 198.51.100.2')).toBe('198.51.100.2');
    expect(resolve('198.51.100.50', '203.0.113.7')).toBe('198.51.100.50');
    expect(resolve('10.1.2.3', 'not-an-ip')).toBe('10.1.2.3');
  });

  it('normalises IPv4-mapped IPv6', () => {
    expect(normalizeAddress('::ffff:10.0.0.5')).toBe('10.0.0.5');
    expect(normalizeAddress('::1')).toBe('::1');
  });
});

describe('request target', () => {
  it('keeps origin-form and strips scheme and host from absolute-form', () => {
    expect(requestTarget('/hikvision/events?x=1')).toBe('/hikvision/events?x=1');
    expect(requestTarget('http://10.0.0.1:8080/hikvision/events?x=1')).toBe('/hikvision/events?x=1');
    expect(requestTarget('http://10.0.0.1:8080')).toBe('/');
    expect(requestTarget('http://host?x=1')).toBe('/?x=1');
  });
});
