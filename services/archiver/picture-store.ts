import { createHash } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { EventPicture } from '../../libs/hikvision/event-model.js';
import { extensionForContentType } from '../../libs/hikvision/picture-type.js';
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
 */
export function createPictureStore(dataDir: string) {
  return {
    async save(eventId: string, receivedAt: Date, pictures: EventPicture[]): Promise<StoredPicture[]> {
      const stored: StoredPicture[] = [];
      for (const picture of pictures) {
        const path = `pictures/${utcDayPath(receivedAt)}/${eventId}-${picture.index}.${extensionForContentType(picture.contentType)}`;
        await writeFileAtomic(join(dataDir, path), picture.bytes);
        stored.push({
          index: picture.index,
          partName: picture.partName,
          path,
          bytes: picture.bytes.length,
          sha256: createHash('sha256').update(picture.bytes).digest('hex'),
          contentType: picture.contentType,
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
