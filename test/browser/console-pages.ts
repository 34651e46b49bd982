import { copyFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { repoRoot } from '../helpers/fixtures.js';

/**
 * Headless Chromium (Debian's package) for the console's browser tests, and the screenshots they
 * take. Screenshots always go to a temp directory; with UPDATE_SCREENSHOTS=1 the ones the docs
 * show are also copied to docs/screenshots (so a CI run never dirties the tree).
 */

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

// Without the background-networking flags Chromium phones home at start, which sandboxes refuse noisily.
const CHROMIUM_ARGS = ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export const launchChromium = (): Promise<Browser> => chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });

export const LAPTOP = { width: 1280, height: 800 };
export const TABLET = { width: 820, height: 1180 };

export const screenshotDir = process.env.SCREENSHOT_DIR ?? path.join(tmpdir(), 'hikhub-console-screenshots');
const docsDir = path.join(repoRoot, 'docs', 'screenshots');
const updateDocs = process.env.UPDATE_SCREENSHOTS === '1';

/** A screenshot of what the page shows now; `forDocs` ones also land in docs/screenshots when asked. */
export async function screenshot(page: Page, name: string, { forDocs = false, fullPage = false } = {}): Promise<string> {
  await mkdir(screenshotDir, { recursive: true });
  const file = path.join(screenshotDir, `${name}.png`);
  // No caret or running animation in the picture: the same page gives the same screenshot.
  await page.screenshot({ path: file, fullPage, animations: 'disabled', caret: 'hide' });
  if (forDocs && updateDocs) {
    await mkdir(docsDir, { recursive: true });
    await copyFile(file, path.join(docsDir, `${name}.png`));
  }
  return file;
}

/** Whether the <img> finished loading real pixels (a broken image has naturalWidth 0). */
export async function imageLoaded(page: Page, selector: string): Promise<number> {
  const handle = await page.waitForFunction(
    (css) => {
      // Runs in the page (this project compiles without DOM types).
      const img = (globalThis as any).document.querySelector(css) as { tagName: string; complete: boolean; naturalWidth: number } | null;
      return img?.tagName === 'IMG' && img.complete && img.naturalWidth > 0 ? img.naturalWidth : null;
    },
    selector,
    { timeout: 15_000 },
  );
  return (await handle.jsonValue()) as number;
}
