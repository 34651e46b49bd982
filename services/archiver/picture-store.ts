import { createHash } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { EventPicture } from '../../libs/hikvision/event-model.js';
import { sniffPictureType } from '../../libs/hikvision/picture-type.js';
import { utcDayPath, writeFileAtomic } from '../../libs/files/atomic-write.js';

export interface StoredPicture {
  index: number;
  partName: string | null;
  /** Relative to DATA_DIR, with forward slashes: pictures/2026/11/27/<event id>-0.jpg */
  path: string;
  bytes: number;
  sha256: string;
  contentType: string;
}

/**
 * Pictures are written under names hikhub makes from the event id and the picture's position —
 * never from anything in the request — so a job that runs twice rewrites the same files.
 * The bytes decide the type (JPEG, PNG, GIF, WebP magic numbers), never the part's declared
 * Content-Type: a part that is not an image by its bytes is not stored as a picture at all, so a
 * "picture" carrying HTML or SVG is never written or served back (the event itself is kept, and
 * a resend with the real picture attaches it to the event).
 */
export function createPictureStore(dataDir: string) {
  return {
    async save(eventId: string, receivedAt: Date, pictures: EventPicture[]): Promise<StoredPicture[]> {
      const stored: StoredPicture[] = [];
      for (const picture of pictures) {
        const sniffed = sniffPictureType(picture.bytes);
        if (sniffed === null) continue;
        const path = `pictures/${utcDayPath(receivedAt)}/${eventId}-${picture.index}.${sniffed.extension}`;
        await writePicture(join(dataDir, path), picture.bytes);
        stored.push({
          index: picture.index,
          partName: picture.partName,
          path,
          bytes: picture.bytes.length,
          sha256: createHash('sha256').update(picture.bytes).digest('hex'),
          contentType: sniffed.mime,
        });
      }
      return stored;
    },
    async remove(pictures: StoredPicture[]): Promise<void> {
      await Promise.all(pictures.map((picture) => rm(join(dataDir, picture.path), { force: true })));
    },
  };
}

export type PictureStore = ReturnType<typeof createPictureStore>;

/**
 * A picture's first write goes straight to its own name, exclusively: creating a file is the
 * dear part of a picture (bench/archiver-throughput), and a temporary sibling plus a rename would
 * nearly double it. No reader looks for the file before the row naming it commits, which is after
 * this write. A file already there is a re-run's — perhaps torn by a crash mid-write — and is
 * replaced atomically; a missing day folder is made by the same atomic path.
 */
async function writePicture(path: string, bytes: Buffer): Promise<void> {
  try {
    await writeFile(path, bytes, { flag: 'wx' });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EEXIST' && code !== 'ENOENT') throw error;
    await writeFileAtomic(path, bytes);
  }
}
