import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { DESKTOP, launchBrowser, PageProblems, PHONE, screenshot } from './support/browser.js';
import { startFixture, type Fixture } from './support/fixture-server.js';

/*
 * The pages against a stand-in API with made-up fleet data (offline devices, sensor errors, backlog,
 * gaps, rejections): states a fresh test stack does not reach. Screenshots go to test-results/webadmin.
 * The end-to-end behaviour against the real service is in webadmin-stack.int.test.ts.
 */
let fx: Fixture;
let browser: Browser;

beforeAll(async () => {
  fx = await startFixture({ devices: 12 });
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await fx?.close();
});

const PAGES: [string, string][] = [
  ['fleet', '/'],
  ['device', '/devices/greenhouse-01'],
  ['stats', '/stats'],
  ['messages', '/messages'],
  ['users', '/users'],
];

describe('web admin pages (stand-in API)', () => {
  for (const [label, viewport] of [
    ['desktop', DESKTOP],
    ['phone', PHONE],
  ] as const) {
    it(`render every page without console errors or CSP violations (${label})`, async () => {
      const context = await browser.newContext({ viewport });
      await PageProblems.install(context);
      const problems = new PageProblems();
      const page = problems.watch(await context.newPage());
      await page.goto(`${fx.url}/`);
      expect(new URL(page.url()).pathname).toBe('/login');
      await screenshot(page, `fixture-login-${label}`);
      await page.fill('input[name=username]', 'admin');
      await page.fill('input[name=password]', 'correct horse');
      await page.click('button[type=submit]');
      await page.waitForURL(`${fx.url}/`);
      for (const [name, url] of PAGES) {
        await page.goto(`${fx.url}${url}`);
        await page.waitForLoadState('networkidle').catch(() => undefined);
        await page.waitForTimeout(700);
        await screenshot(page, `fixture-${name}-${label}`);
      }
      if (label === 'phone') {
        await page.goto(`${fx.url}/`);
        await page.click('.nav-toggle');
        await screenshot(page, `fixture-nav-open-${label}`);
      }
      expect(await page.evaluate(() => (window as { __xss?: number }).__xss)).toBeUndefined();
      expect(problems.problems).toEqual([]);
      await context.close();
    });
  }
});
