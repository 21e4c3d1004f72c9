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
      expect(await page.evaluate('window.__xss')).toBeUndefined();
      expect(problems.problems).toEqual([]);
      await context.close();
    });
  }

  it('keeps a 1,000-device fleet fast: one page of rows, paged on the server, live', async () => {
    const big = await startFixture({ devices: 1000 });
    try {
      const context = await browser.newContext({ viewport: DESKTOP });
      const problems = new PageProblems();
      const page = problems.watch(await context.newPage());
      await page.goto(`${big.url}/login`);
      await page.fill('input[name=username]', 'admin');
      await page.fill('input[name=password]', 'correct horse');
      await page.click('button[type=submit]');
      await page.waitForURL(`${big.url}/`);
      const started = Date.now();
      await page.locator('#fleet-rows tr[data-id]').first().waitFor();
      expect(Date.now() - started).toBeLessThan(3000);
      expect(await page.locator('#fleet-rows tr').count()).toBe(50);
      expect(await page.locator('#fleet-summary').textContent()).toContain('1,000 devices');
      expect(await page.locator('#page-info').textContent()).toBe('Page 1 of 20');
      await page.click('#page-next');
      await expect
        .poll(() => page.locator('#fleet-rows tr').first().getAttribute('data-id'))
        .toBe('sim-0051');
      await page.click('#page-prev');
      await expect
        .poll(() => page.locator('#fleet-rows tr').first().getAttribute('data-id'))
        .toBe('sim-0001');
      // Live readings of 50 devices a second repaint their rows without blocking the page.
      const seen = page.locator('#fleet-rows tr[data-id="sim-0001"] td[data-label="Last seen"] time');
      const before = await seen.getAttribute('datetime');
      await expect.poll(() => seen.getAttribute('datetime'), { timeout: 10_000 }).not.toBe(before);
      const lag = await page.evaluate(
        () =>
          new Promise<number>((r) => {
            const t = performance.now();
            setTimeout(() => r(performance.now() - t), 0);
          }),
      );
      expect(lag).toBeLessThan(200);
      await page.fill('input[name=search]', 'sim-09');
      await expect.poll(() => page.locator('#fleet-summary').textContent()).toContain('100 devices matching');
      await screenshot(page, 'fixture-fleet-1000-desktop');
      expect(problems.problems).toEqual([]);
      await context.close();
    } finally {
      await big.close();
    }
  });
});
