import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/** Directories this process already made: a busy archiver writes many files into few day folders. */
const knownDirectories = new Set<string>();

async function ensureDirectory(directory: string): Promise<void> {
  if (knownDirectories.has(directory)) return;
  await mkdir(directory, { recursive: true });
  if (knownDirectories.size > 10_000) knownDirectories.clear();
  knownDirectories.add(directory);
}

/** Write to a temporary sibling then rename: readers see the old file or the whole new one, never a torn one. */
export async function writeFileAtomic(path: string, data: Buffer | string): Promise<void> {
  const directory = dirname(path);
  await ensureDirectory(directory);
  const temporary = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await writeFile(temporary, data, { flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    // The folder went away under us (a retention job, an operator): make it again.
    knownDirectories.delete(directory);
    await ensureDirectory(directory);
    await writeFile(temporary, data, { flag: 'wx' });
  }
  try {
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

/** yyyy/mm/dd of a date in UTC, for sharding files by day. */
export function utcDayPath(date: Date): string {
  const iso = date.toISOString();
  return `${iso.slice(0, 4)}/${iso.slice(5, 7)}/${iso.slice(8, 10)}`;
}
