import { stat } from 'node:fs/promises';
import { resolve, sep } from 'node:path';
import type { Router } from 'express';
import type { ApiContext } from '../context.js';
import { notFound } from '../errors.js';
import { streamFile } from '../file-response.js';

/**
 * Event pictures at `/faces/<stored path>` (the original server's URL space), behind the same
 * authentication as the API. Only a path that exists as an `event_pictures` row is served, and
 * the file read is the row's own path (made by the archiver from the event id), so nothing in
 * the request ever becomes a file name by itself. Pictures never change: cached for a year.
 */
export function registerPictureRoutes(router: Router, { archive, dataDir }: ApiContext): void {
  const root = resolve(dataDir);

  router.get('/faces/*path', async (req, res) => {
    const segments = (req.params as { path?: string[] | string }).path;
    const requested = Array.isArray(segments) ? segments.join('/') : (segments ?? '');
    // No stored path holds a NUL, and Postgres refuses one in a query (a 500, were it asked).
    if (requested.includes('\0')) throw notFound('no such picture');
    const picture = await archive.selectFrom('event_pictures').select(['path', 'content_type', 'bytes', 'sha256']).where('path', '=', requested).executeTakeFirst();
    if (!picture) throw notFound('no such picture');
    const file = resolve(root, picture.path);
    if (!file.startsWith(root + sep)) throw notFound('no such picture');

    const etag = `"${picture.sha256}"`;
    const cacheable = { 'cache-control': 'private, max-age=31536000, immutable', etag };
    const conditional = req.headers['if-none-match'];
    if (conditional !== undefined && conditional.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag)) {
      res.status(304).set(cacheable).end();
      return;
    }
    const size = await stat(file).then((found) => (found.isFile() ? found.size : null), () => null);
    if (size === null) throw notFound('the picture file is missing from DATA_DIR');
    res.status(200).set({ ...cacheable, 'content-type': picture.content_type, 'content-length': String(size), 'x-content-type-options': 'nosniff' });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    await streamFile(res, file);
  });
}
