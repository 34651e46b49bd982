import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RequestHandler } from 'express';

/**
 * The web console: static ES modules (Preact + htm, no build step) served from
 * services/api/console, plus three vendor modules from node_modules. Every file is read once at
 * start into a table keyed by its URL, so nothing from a request ever becomes a filesystem path.
 * The files hold no data (the console reads everything through the API with the session cookie),
 * so they are served without authentication. A plain middleware rather than routes: the OpenAPI
 * test lists the app's routes, and these are not API operations.
 */

interface StaticFile {
  body: Buffer;
  contentType: string;
  etag: string;
}

const ASSET_PREFIX = '/console/';
const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};
/** Client-side routes (history API): each answers index.html and the console draws the page. */
const PAGE_PATHS = /^\/(?:|sign-in|people|people\/new|people\/[A-Za-z0-9]{1,32}|devices|quarantine|events\/[0-9A-Za-z-]{1,64})$/;

const here = path.dirname(fileURLToPath(import.meta.url));

/** services/api/console next to this module under tsx; from dist/services/api, the sources' copy (the build copies no static files). */
export function consoleDirectory(): string {
  const candidates = [path.join(here, 'console'), path.resolve(here, '../../../services/api/console')];
  const found = candidates.find((dir) => existsSync(path.join(dir, 'index.html')));
  if (!found) throw new Error(`console files not found (looked in ${candidates.join(', ')})`);
  return found;
}

function vendorFiles(): Record<string, string> {
  const require = createRequire(import.meta.url);
  // Each package's CommonJS entry sits next to its browser ES module build (htm exports no package.json to resolve).
  const besideEntry = (specifier: string, moduleFile: string) => path.join(path.dirname(require.resolve(specifier)), moduleFile);
  return {
    'vendor/preact.js': besideEntry('preact', 'preact.module.js'),
    'vendor/preact-hooks.js': besideEntry('preact/hooks', 'hooks.module.js'),
    'vendor/htm.js': besideEntry('htm', 'htm.module.js'),
  };
}

function staticFile(body: Buffer, extension: string): StaticFile {
  const contentType = CONTENT_TYPES[extension] ?? 'application/octet-stream';
  return { body, contentType, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 32)}"` };
}

/** Every servable file under `dir`, by its path relative to it (forward slashes). */
function walk(dir: string, prefix = ''): [string, string][] {
  const entries: [string, string][] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const relative = `${prefix}${entry.name}`;
    if (entry.isDirectory()) entries.push(...walk(path.join(dir, entry.name), `${relative}/`));
    else if (entry.isFile() && CONTENT_TYPES[path.extname(entry.name)]) entries.push([relative, path.join(dir, entry.name)]);
  }
  return entries;
}

/**
 * index.html carries the import map inline (browsers do not load external import maps); the CSP
 * allows exactly that script by its hash, and nothing else inline.
 */
export function importMapHash(indexHtml: string): string {
  const match = /<script type="importmap">([\s\S]*?)<\/script>/.exec(indexHtml);
  if (!match) throw new Error('console index.html has no import map');
  return `'sha256-${createHash('sha256').update(match[1]!, 'utf8').digest('base64')}'`;
}

export function contentSecurityPolicy(indexHtml: string): string {
  return [
    "default-src 'none'",
    `script-src 'self' ${importMapHash(indexHtml)}`,
    "style-src 'self'",
    // blob: previews a face photo before it is uploaded.
    "img-src 'self' blob:",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

export function consoleHandler(directory = consoleDirectory()): RequestHandler {
  const files = new Map<string, StaticFile>();
  for (const [relative, file] of walk(directory)) files.set(`${ASSET_PREFIX}${relative}`, staticFile(readFileSync(file), path.extname(file)));
  for (const [relative, file] of Object.entries(vendorFiles())) files.set(`${ASSET_PREFIX}${relative}`, staticFile(readFileSync(file), '.js'));
  const index = files.get(`${ASSET_PREFIX}index.html`);
  if (!index) throw new Error('console index.html missing');
  files.delete(`${ASSET_PREFIX}index.html`);
  const securityHeaders = {
    'content-security-policy': contentSecurityPolicy(index.body.toString('utf8')),
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'x-frame-options': 'DENY',
    'cross-origin-opener-policy': 'same-origin',
    // Revalidated every time (cheap with the ETag), so a new version shows on the next load.
    'cache-control': 'no-cache',
  };

  return (req, res, next) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return next();
    const file = PAGE_PATHS.test(req.path) ? index : files.get(req.path);
    if (!file) return next();
    res.locals.metricsRoute = 'console';
    res.set({ ...securityHeaders, 'content-type': file.contentType, etag: file.etag });
    if (req.headers['if-none-match'] === file.etag) {
      res.status(304).end();
      return;
    }
    res.status(200).set('content-length', String(file.body.length));
    if (req.method === 'HEAD') res.end();
    else res.end(file.body);
  };
}
