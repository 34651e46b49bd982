import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { uuidV7 } from '../../libs/ids/uuid-v7.js';

describe('uuidV7', () => {
  it('is a valid RFC 9562 v7 id carrying the time, sortable by it', () => {
    const early = uuidV7(1_700_000_000_000);
    const late = uuidV7(1_700_000_000_001);
    expect(z.uuid().safeParse(early).success).toBe(true);
    expect(early[14]).toBe('7');
    expect(parseInt(early.replace(/-/g, '').slice(0, 12), 16)).toBe(1_700_000_000_000);
    expect(early < late).toBe(true);
  });
});
