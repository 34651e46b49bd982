import { describe, expect, it } from 'vitest';
import { parseOffsetMinutes, resolveDeviceTime } from '../../../libs/hikvision/device-time.js';

const iso = (raw: string | null, zone?: string) => resolveDeviceTime(raw, zone)?.toISOString() ?? null;

describe('resolveDeviceTime', () => {
  it('reads the offsets devices send', () => {
    expect(iso('2025-04-06T14:16:04+08:00')).toBe('2025-04-06T06:16:04.000Z');
    expect(iso('2025-04-06T14:16:04Z')).toBe('2025-04-06T14:16:04.000Z');
    expect(iso('2025-04-06T14:16:04z')).toBe('2025-04-06T14:16:04.000Z');
    expect(iso('2024-05-07T17:48:03.847+07:00')).toBe('2024-05-07T10:48:03.847Z');
    expect(iso('2024-05-07T17:48:03.8+07:00')).toBe('2024-05-07T10:48:03.800Z');
    expect(iso('2024-01-22T11:47:15-5:00')).toBe('2024-01-22T16:47:15.000Z');
    expect(iso('2025-04-06T14:16:04+0800')).toBe('2025-04-06T06:16:04.000Z');
    expect(iso('2025-04-06T14:16:04+05:30')).toBe('2025-04-06T08:46:04.000Z');
    expect(iso('2025-04-06T14:16:04+08')).toBe('2025-04-06T06:16:04.000Z');
    expect(iso(' 2025-04-06T14:16:04+08:00 ')).toBe('2025-04-06T06:16:04.000Z');
  });

  it('lets an explicit offset win over the configured zone', () => {
    expect(iso('2025-04-06T14:16:04+08:00', 'Europe/Berlin')).toBe('2025-04-06T06:16:04.000Z');
  });

  it('returns null for a time without offset when no zone is configured', () => {
    expect(iso('2025-04-06T14:16:04')).toBeNull();
    expect(iso('2025-04-06T14:16:04', '')).toBeNull();
  });

  it('reads a time without offset in the configured zone', () => {
    expect(iso('2025-04-06T14:16:04', '+08:00')).toBe('2025-04-06T06:16:04.000Z');
    expect(iso('2025-04-06T14:16:04', '-05:00')).toBe('2025-04-06T19:16:04.000Z');
    expect(iso('2025-04-06T14:16:04', 'UTC')).toBe('2025-04-06T14:16:04.000Z');
    expect(iso('2025-04-06T14:16:04', 'Asia/Shanghai')).toBe('2025-04-06T06:16:04.000Z');
    expect(iso('2025-01-15T12:00:00', 'Europe/Berlin')).toBe('2025-01-15T11:00:00.000Z');
    expect(iso('2025-07-15T12:00:00', 'Europe/Berlin')).toBe('2025-07-15T10:00:00.000Z');
    expect(iso('2025-07-15T12:00:00.250', 'America/New_York')).toBe('2025-07-15T16:00:00.250Z');
  });

  it('resolves DST overlaps to the earlier instant and moves gap times forward', () => {
    // Berlin, 2025-10-26: 02:00–03:00 happens twice (CEST then CET).
    expect(iso('2025-10-26T02:30:00', 'Europe/Berlin')).toBe('2025-10-26T00:30:00.000Z');
    // Berlin, 2025-03-30: 02:00–03:00 does not exist; 02:30 is read as 03:30 CEST.
    expect(iso('2025-03-30T02:30:00', 'Europe/Berlin')).toBe('2025-03-30T01:30:00.000Z');
  });

  it('returns null for an unknown zone instead of throwing', () => {
    expect(iso('2025-04-06T14:16:04', 'Mars/Olympus_Mons')).toBeNull();
    expect(iso('2025-04-06T14:16:04', '+25:00')).toBeNull();
  });

  it('returns null for broken or out-of-range values', () => {
    for (const raw of [
      '2024-01-22T11:47:1500:00',
      '2024-13-01T00:00:00Z',
      '2024-00-10T00:00:00Z',
      '2024-02-30T00:00:00Z',
      '2023-02-29T00:00:00Z',
      '2024-01-01T24:00:00Z',
      '2024-01-01T23:60:00Z',
      '2024-01-01T23:59:60Z',
      '2024-01-01T00:00:00+15:00',
      '2024-01-01T00:00:00+08:75',
      '2024-01-01',
      'yesterday',
      '',
      '2024-1-01T00:00:00Z',
    ]) {
      expect(iso(raw, 'UTC'), raw).toBeNull();
    }
    expect(iso(null)).toBeNull();
  });

  it('accepts a leap day', () => {
    expect(iso('2024-02-29T00:00:00Z')).toBe('2024-02-29T00:00:00.000Z');
  });
});

describe('parseOffsetMinutes', () => {
  it('parses the offset spellings', () => {
    expect(parseOffsetMinutes('Z')).toBe(0);
    expect(parseOffsetMinutes('+08:00')).toBe(480);
    expect(parseOffsetMinutes('-5:00')).toBe(-300);
    expect(parseOffsetMinutes('+0530')).toBe(330);
    expect(parseOffsetMinutes('+14:00')).toBe(840);
    expect(parseOffsetMinutes('+14:01')).toBeNull();
    expect(parseOffsetMinutes('Europe/Berlin')).toBeNull();
  });
});
