import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from '../helpers/api.js';

/**
 * How the API serves the console's files (no browser needed): every page path answers
 * index.html under a strict CSP whose only inline allowance is the import map's hash; modules
 * and vendor files are served with validators; nothing else under /console is reachable, and
 * the data stays behind authentication.
 */

describe('console static files', () => {
  let t: TestApi;
  const get = (path: string, headers: Record<string, string> = {}) => fetch(`http://127.0.0.1:${t.api.port}${path}`, { headers });

  beforeAll(async () => {
    t = await startTestApi('console_static');
  });
  afterAll(async () => {
    await t?.close();
  });

  it('answers every page path with index.html, strict security headers and no token', async () => {
    const first = await get('/');
    expect(first.status).toBe(200);
    const html = await first.text();
    expect(first.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const importMap = /<script type="importmap">([\s\S]*?)<\/script>/.exec(html)?.[1];
    expect(importMap).toBeDefined();
    const hash = createHash('sha256').update(importMap!).digest('base64');
    const csp = first.headers.get('content-security-policy') ?? '';
    expect(csp).toContain(`script-src 'self' 'sha256-${hash}'`);
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe');
    expect({
      nosniff: first.headers.get('x-content-type-options'),
      referrer: first.headers.get('referrer-policy'),
      frame: first.headers.get('x-frame-options'),
      cache: first.headers.get('cache-control'),
    }).toEqual({ nosniff: 'nosniff', referrer: 'no-referrer', frame: 'DENY', cache: 'no-cache' });
    // No inline script besides the import map: the module is loaded from 'self'.
    expect([...html.matchAll(/<script\b[^>]*>/g)].map((match) => match[0])).toEqual(['<script type="importmap">', '<script type="module" src="/console/app.js">']);

    for (const path of ['/people', '/people/new', '/people/E1001', '/devices', '/quarantine', '/sign-in', '/events/01a2200f-0000-7000-8000-000000000001']) {
      const response = await get(path);
      expect([path, response.status, response.headers.get('etag')]).toEqual([path, 200, first.headers.get('etag')]);
      expect(await response.text()).toBe(html);
    }
    // Console files are counted under one bounded route label, apart from real 404s.
    expect(await t.metrics()).toMatch(/hikhub_api_requests_total\{method="GET",route="console",status_class="2xx"[^}]*\} 8\n/);
  });

  it('serves modules with an ETag and answers 304 when unchanged', async () => {
    const script = await get('/console/app.js');
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    const etag = script.headers.get('etag')!;
    expect(etag).toMatch(/^"[\w-]+"$/);
    const again = await get('/console/app.js', { 'if-none-match': etag });
    expect(again.status).toBe(304);
    expect((await get('/console/styles.css')).headers.get('content-type')).toBe('text/css; charset=utf-8');
  });

  it('serves every module the console imports, vendor modules included', async () => {
    const html = await (await get('/')).text();
    const importMap = JSON.parse(/<script type="importmap">([\s\S]*?)<\/script>/.exec(html)![1]!) as { imports: Record<string, string> };
    expect(Object.keys(importMap.imports).sort()).toEqual(['htm', 'preact', 'preact/hooks']);
    const seen = new Set<string>();
    const pending = ['/console/app.js'];
    while (pending.length > 0) {
      const url = pending.pop()!;
      if (seen.has(url)) continue;
      seen.add(url);
      const response = await get(url);
      expect([url, response.status]).toEqual([url, 200]);
      const source = await response.text();
      for (const [, specifier] of source.matchAll(/\bimport\s*(?:[\w*{}\s,$]+?\s*from\s*)?["']([^"']+)["']/g)) {
        const target = importMap.imports[specifier!] ?? new URL(specifier!, `http://x${url}`).pathname;
        expect(target.startsWith('/console/'), `${url} imports ${specifier}`).toBe(true);
        pending.push(target);
      }
    }
    expect([...seen]).toEqual(expect.arrayContaining(['/console/vendor/preact.js', '/console/vendor/preact-hooks.js', '/console/vendor/htm.js', '/console/pages/live.js']));
    expect(seen.size).toBeGreaterThan(15);
  });

  it('serves nothing else: no traversal, no directory, no other method; the API still wants a token', async () => {
    for (const path of ['/console/', '/console/pages', '/console/../package.json', '/console/%2e%2e/package.json', '/console/vendor/../../package.json', '/console/vendor/preact.module.js', '/index.html', '/events', '/people/a/b']) {
      const response = await get(path);
      expect([path, response.status]).toEqual([path, 404]);
      expect(await response.text()).not.toContain('"name": "hikhub"');
    }
    const post = await fetch(`http://127.0.0.1:${t.api.port}/`, { method: 'POST' });
    expect(post.status).toBe(404);
    expect((await get('/api/v1/people')).status).toBe(401);
    expect((await get('/api/v1/events')).status).toBe(401);
  });
});
