import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The simulator's own JPEGs (see assets/README.md for how they were made). */

export const ASSET_NAMES = ['face.jpg', 'face-2.jpg', 'oversize.jpg', 'capture.jpg'] as const;
export type AssetName = (typeof ASSET_NAMES)[number];

const here = path.dirname(fileURLToPath(import.meta.url));
/** Next to this module when run from sources (tsx); from dist/tools/simulator, the sources' copy. */
export const assetsDir = [path.join(here, 'assets'), path.resolve(here, '../../../tools/simulator/assets')].find((dir) => existsSync(dir)) ?? path.join(here, 'assets');

const cache = new Map<AssetName, Buffer>();

/** The bytes of an asset; read once, a fresh copy per call so callers may mutate it. */
export function loadAsset(name: AssetName): Buffer {
  let bytes = cache.get(name);
  if (!bytes) {
    bytes = readFileSync(path.join(assetsDir, name));
    cache.set(name, bytes);
  }
  return Buffer.from(bytes);
}
