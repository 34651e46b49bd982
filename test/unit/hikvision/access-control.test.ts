import { describe, expect, it } from 'vitest';
import { describeAccessEvent } from '../../../libs/hikvision/access-control.js';

describe('describeAccessEvent', () => {
  it('names the verification outcomes of major type 5', () => {
    expect(describeAccessEvent(5, 1)).toBe('legal card pass');
    expect(describeAccessEvent(5, 6)).toBe('card not authorised');
    expect(describeAccessEvent(5, 9)).toBe('invalid card');
    expect(describeAccessEvent(5, 38)).toBe('fingerprint verified');
    expect(describeAccessEvent(5, 39)).toBe('fingerprint verification failed');
    expect(describeAccessEvent(5, 0x4b)).toBe('face verified');
    expect(describeAccessEvent(5, 76)).toBe('face verification failed');
  });

  it('falls back to the raw codes for anything it does not know', () => {
    expect(describeAccessEvent(5, 999)).toBe('major 5 / minor 999');
    expect(describeAccessEvent(2, 39)).toBe('major 2 / minor 39');
    expect(describeAccessEvent(null, 75)).toBe('major ? / minor 75');
    expect(describeAccessEvent(5, null)).toBe('major 5 / minor ?');
    expect(describeAccessEvent(null, null)).toBeNull();
  });
});
