import { describe, expect, it } from 'vitest';
import { normalizeMacAddress } from '../../../libs/hikvision/mac-address.js';

describe('normalizeMacAddress', () => {
  it('keeps well-formed addresses, lowercased', () => {
    expect(normalizeMacAddress('bc:5e:33:5c:3a:db')).toBe('bc:5e:33:5c:3a:db');
    expect(normalizeMacAddress('BC:5E:33:5C:3A:DB')).toBe('bc:5e:33:5c:3a:db');
    expect(normalizeMacAddress(' bc-5e-33-5c-3a-db ')).toBe('bc:5e:33:5c:3a:db');
    expect(normalizeMacAddress('bc5e335c3adb')).toBe('bc:5e:33:5c:3a:db');
  });

  it('pads single-digit groups', () => {
    expect(normalizeMacAddress('0:1e:3:4c:5:0')).toBe('00:1e:03:4c:05:00');
  });

  it('undoes the sign-extension bug by keeping the low byte', () => {
    expect(normalizeMacAddress('ffffffe8:ffffffa0:ffffffed:3c:0:1')).toBe('e8:a0:ed:3c:00:01');
    expect(normalizeMacAddress('FFFFFFBC:5e:33:FFFFFF8C:3a:db')).toBe('bc:5e:33:8c:3a:db');
  });

  it('returns null unless there are exactly six bytes', () => {
    // The parking terminal's value: five groups, one byte was lost on the device.
    expect(normalizeMacAddress('ffffffe8:ffffffa0:ffffffed:3c:0')).toBeNull();
    expect(normalizeMacAddress('bc:5e:33:5c:3a:db:01')).toBeNull();
    expect(normalizeMacAddress('bc:5e:33:5c:3a:xy')).toBeNull();
    expect(normalizeMacAddress('bc:5e:33:5c:3a:123')).toBeNull();
    expect(normalizeMacAddress('12345678:5e:33:5c:3a:db')).toBeNull();
    expect(normalizeMacAddress('bc::33:5c:3a:db')).toBeNull();
    expect(normalizeMacAddress('')).toBeNull();
    expect(normalizeMacAddress(null)).toBeNull();
    expect(normalizeMacAddress(undefined)).toBeNull();
  });
});
