import { describe, expect, it } from 'vitest';
import { BODY_CHUNK_BYTES, splitBody } from '../../libs/jobs/body-store.js';

describe('body chunking', () => {
  it('splits into allocation-sized chunks that concatenate back to the body', () => {
    for (const size of [0, 1, BODY_CHUNK_BYTES - 1, BODY_CHUNK_BYTES, BODY_CHUNK_BYTES + 1, 60_000, 505_636]) {
      const body = Buffer.alloc(size, 0xab);
      const chunks = splitBody(body);
      expect(chunks.length).toBe(Math.max(1, Math.ceil(size / BODY_CHUNK_BYTES)));
      expect(chunks.every((chunk) => chunk.length <= BODY_CHUNK_BYTES)).toBe(true);
      expect(Buffer.concat(chunks).equals(body)).toBe(true);
    }
  });

  it('fills a 16 KiB jemalloc class exactly (6-byte sds header + NUL)', () => {
    expect(BODY_CHUNK_BYTES + 5 + 1).toBe(16_384);
  });
});
