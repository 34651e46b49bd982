import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { uuidV7, uuidV7Time } from '../../libs/ids/uuid-v7.js';

describe('uuidV7', () => {
  it('is a valid RFC 9562 v7 id carrying the time, sortable by it', () => {
    const early = uuidV7(1_700_000_000_000);
    const late = uuidV7(1_700_000_000_001);
    expect(z.uuid().safeParse(early).success).toBe(true);
    expect(early[14]).toBe('7');
    expect(uuidV7Time(early)).toBe(1_700_000_000_000);
    expect(uuidV7Time('6ba7b810-9dad-11d1-80b4-00c04fd430c8')).toBeNull();
    expect(early < late).toBe(true);
  });
});
