import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createPictureStore } from '../../services/archiver/picture-store.js';

describe('pictures are typed by their bytes before they are stored', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it('stores JPEG and PNG under names hikhub makes, and never a "picture" that is not an image', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'hikhub-edge-pictures-'));
    dirs.push(dataDir);
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3]);
    const jpeg = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 4, 5, 6]);
    const html = Buffer.from('<html><script>alert(1)</script></html>');
    const stored = await createPictureStore(dataDir).save('0190f0f0-0000-7000-8000-000000000001', new Date('2026-11-27T08:00:00Z'), [
      { index: 0, partName: '../../etc/passwd', contentType: 'image/jpeg', bytes: png },
      { index: 1, partName: 'evil.jpg', contentType: 'image/jpeg', bytes: html },
      { index: 2, partName: null, contentType: 'application/octet-stream', bytes: jpeg },
    ]);
    expect(stored.map((picture) => [picture.path, picture.contentType])).toEqual([
      ['pictures/2026/11/27/0190f0f0-0000-7000-8000-000000000001-0.png', 'image/png'],
      ['pictures/2026/11/27/0190f0f0-0000-7000-8000-000000000001-2.jpg', 'image/jpeg'],
    ]);
    expect(await readdir(join(dataDir, 'pictures/2026/11/27'))).toHaveLength(2);
  });
});
