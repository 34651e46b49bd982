import { describe, expect, it } from 'vitest';
import { clampValidity, formatDeviceLocalTime } from '../../libs/isapi/device-time.js';

describe('device-local validity times', () => {
  const instant = new Date('2026-01-01T00:00:00Z');

  it('formats in an IANA zone or a fixed offset, as DEVICE_TIME_ZONE allows both', () => {
    expect(formatDeviceLocalTime(instant, 'Europe/Paris')).toBe('2026-01-01T01:00:00');
    expect(formatDeviceLocalTime(instant, '+08:00')).toBe('2026-01-01T08:00:00');
    expect(formatDeviceLocalTime(instant, '-5:30')).toBe('2025-12-31T18:30:00');
    expect(formatDeviceLocalTime(instant, 'Z')).toBe('2026-01-01T00:00:00');
  });

  it('clamps to the range devices accept', () => {
    expect(clampValidity('1970-01-01T00:00:00')).toBe('2000-01-01T00:00:00');
    expect(clampValidity('2099-01-01T00:00:00')).toBe('2037-12-31T23:59:59');
    expect(clampValidity('2030-06-01T12:00:00')).toBe('2030-06-01T12:00:00');
  });
});
