import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

/** test-results/webadmin at the repository root (git-ignored): screenshots of every page. */
export const SHOTS_DIR = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../../../../test-results/webadmin',
);

export const DESKTOP = { width: 1366, height: 900 };
export const PHONE = { width: 390, height: 844 };

/** Debian's chromium, never a downloaded one (the bootstrap installs the package when it is missing). */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/**
 * Everything a page complains about: console errors, uncaught exceptions and CSP violations (reported
 * by a listener installed before any page script, which the page's CSP does not govern).
 */
export class PageProblems {
  readonly problems: string[] = [];

  watch(page: Page, ignore: RegExp[] = []): Page {
    page.on('console', (msg) => {
      if (msg.type() !== 'error') return;
      const at = msg.location().url;
      const text = `${page.url()}: console error: ${msg.text()}${at ? ` (${at})` : ''}`;
      if (!ignore.some((r) => r.test(text))) this.problems.push(text);
    });
    page.on('pageerror', (err) => this.problems.push(`${page.url()}: uncaught: ${err.message}`));
    return page;
  }

  static async install(context: BrowserContext): Promise<void> {
    // A string, not a function: it runs in the page, whose DOM types these Node-typed tests do not load.
    await context.addInitScript(`document.addEventListener('securitypolicyviolation', (e) => {
      console.error('CSP violation: ' + e.violatedDirective + ' blocked ' + (e.blockedURI || 'inline'));
    });`);
  }
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SHOTS_DIR, { recursive: true });
  const file = path.join(SHOTS_DIR, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  // SHOT_PARTS=1 also writes screen-high slices of tall pages: a phone page is too long to look at whole.
  if (process.env.SHOT_PARTS) {
    const { width, height } = page.viewportSize() ?? { width: 390, height: 844 };
    const total = Number(await page.evaluate('document.documentElement.scrollHeight'));
    for (let y = 0, i = 1; y < total && i <= 6; y += height * 1.5, i++) {
      await page.screenshot({
        path: path.join(SHOTS_DIR, `${name}.part${i}.png`),
        fullPage: true,
        clip: { x: 0, y, width, height: Math.min(height * 1.5, total - y) },
      });
    }
  }
  return file;
}
