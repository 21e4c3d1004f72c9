import { readFileSync } from 'node:fs';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topics } from '@sensorfleet/shared';
import { DESKTOP, launchBrowser, PageProblems, PHONE, screenshot } from './support/browser.js';
import { BrowserStack } from './support/stack.js';

/*
 * The web admin in a real browser (Debian's chromium) against the real system: Redis, Mosquitto, MariaDB,
 * receiver, the web admin service and a simulated device, each its own process. The tests run in order and
 * share one signed-in page, as a person would use it.
 */
const USER = 'admin';
const PASSWORD = 'a-long-test-password-1';
const DEVICE = 'browser-dev-01';
/** What the browser rightly logs: the 401 of the deliberately wrong password. */
const KNOWN = [/status of 401 .*\(http:[^)]*\/api\/session\)$/];

let stack: BrowserStack;
let browser: Browser;
let context: BrowserContext;
let page: Page;
const problems = new PageProblems();

const deviceRow = (p: Page) => p.locator(`#fleet-rows tr[data-id="${DEVICE}"]`);
const chart = (p: Page, sensor: string) => p.locator(`.chart-card[data-sensor="${sensor}"]`);
const points = async (p: Page, sensor: string) =>
  Number((await chart(p, sensor).getAttribute('data-points')) ?? 0);

async function waitUntil(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

beforeAll(async () => {
  stack = await BrowserStack.start({ deviceId: DEVICE, username: USER, password: PASSWORD });
  browser = await launchBrowser();
  context = await browser.newContext({ viewport: DESKTOP, acceptDownloads: true });
  await PageProblems.install(context);
  page = problems.watch(await context.newPage(), KNOWN);
}, 180_000);

afterAll(async () => {
  await context?.close();
  await browser?.close();
  await stack?.close();
});

describe('web admin in a browser, against the real stack', () => {
  it('sends a stranger to the login page and back to where they were going after signing in', async () => {
    await page.goto(`${stack.url}/devices/${DEVICE}`);
    expect(new URL(page.url()).pathname).toBe('/login');
    expect(new URL(page.url()).searchParams.get('next')).toBe(`/devices/${DEVICE}`);
    await page.fill('input[name=username]', USER);
    await page.fill('input[name=password]', 'wrong password');
    await page.click('button[type=submit]');
    await expect
      .poll(() => page.locator('#login-error').textContent())
      .toContain('Wrong user name or password');
    await screenshot(page, 'login-error-desktop');
    await page.fill('input[name=password]', PASSWORD);
    await page.click('button[type=submit]');
    await page.waitForURL(`${stack.url}/devices/${DEVICE}`);
  });

  it('shows the device online on the fleet page, with its latest values', async () => {
    await page.goto(`${stack.url}/`);
    await waitUntil('device row online', 60_000, async () => {
      if ((await deviceRow(page).getAttribute('data-online')) === 'true') return true;
      await page.reload(); // the device may have registered after the page loaded
      return false;
    });
    await expect.poll(() => deviceRow(page).textContent(), { timeout: 20_000 }).toMatch(/°C/);
    expect(await page.locator('#live').getAttribute('data-state')).toBe('live');
    await screenshot(page, 'fleet-desktop');
  });

  it('draws live charts that gain points as the device measures', async () => {
    await page.goto(`${stack.url}/devices/${DEVICE}?range=1h`);
    await expect.poll(() => points(page, 'temperature'), { timeout: 30_000 }).toBeGreaterThan(0);
    const before = await points(page, 'temperature');
    await expect.poll(() => points(page, 'temperature'), { timeout: 15_000 }).toBeGreaterThan(before + 2);
    expect(await chart(page, 'humidity').getAttribute('data-points')).not.toBe('0');
    await screenshot(page, 'device-desktop');
  });

  it('Stop turns the device to stopped and the command to succeeded', async () => {
    await page.click('button[data-command=stop]');
    const row = page.locator('#command-rows tr[data-command=stop]').first();
    await expect.poll(() => row.getAttribute('data-status'), { timeout: 20_000 }).toBe('succeeded');
    await expect
      .poll(() => page.locator('#state-cards [data-key=running]').textContent(), { timeout: 20_000 })
      .toContain('stopped');
    await page.click('button[data-command=start]');
    await expect
      .poll(() => page.locator('#state-cards [data-key=running]').textContent(), { timeout: 20_000 })
      .toContain('running');
  });

  it('keeps a command for an offline device pending and delivers it when the device is back', async () => {
    await stack.mqtthandler.stop();
    await expect.poll(() => page.locator('#dev-status').textContent(), { timeout: 20_000 }).toBe('offline');
    await page.click('button[data-command=ping]');
    const row = page.locator('#command-rows tr[data-command=ping]').first();
    await expect.poll(() => row.getAttribute('data-status'), { timeout: 10_000 }).toBe('pending');
    await new Promise((r) => setTimeout(r, 2000));
    expect(await row.getAttribute('data-status')).toBe('pending');
    await screenshot(page, 'device-offline-pending-desktop');
    await stack.mqtthandler.start();
    await expect.poll(() => row.getAttribute('data-status'), { timeout: 30_000 }).toBe('succeeded');
    await expect.poll(() => page.locator('#dev-status').textContent(), { timeout: 20_000 }).toBe('online');
  });

  it('shows data in the 24 h view and downloads it as CSV that parses', async () => {
    await page.click('[data-range="24h"]');
    await expect.poll(() => page.locator('[data-range="24h"]').getAttribute('aria-pressed')).toBe('true');
    await expect.poll(() => points(page, 'temperature'), { timeout: 15_000 }).toBeGreaterThan(0);
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#csv-link')]);
    const csv = readFileSync(await download.path(), 'utf8')
      .trim()
      .split(/\r?\n/);
    const header = csv[0]!.split(',');
    expect(header.slice(0, 2)).toEqual(['seq', 'measured_at']);
    expect(header).toContain('temperature');
    expect(csv.length).toBeGreaterThan(5);
    const t = header.indexOf('temperature');
    for (const line of csv.slice(1)) {
      const cells = line.split(',');
      expect(cells).toHaveLength(header.length);
      expect(Number.isInteger(Number(cells[0]))).toBe(true);
      expect(Number.isNaN(Date.parse(cells[1]!))).toBe(false);
      if (cells[t] !== '') expect(Number.isFinite(Number(cells[t]))).toBe(true);
    }
    await screenshot(page, 'device-24h-desktop');
  });

  it('shows a device payload with markup in the message log as text, and runs none of it', async () => {
    const client = await stack.client();
    const evil = '{"v":1,"readings":[<img src=x onerror="window.__xss=1">]}';
    await client.publishAsync(topics.telemetry(DEVICE), evil, { qos: 1 });
    await client.endAsync();
    await page.goto(`${stack.url}/messages?device=${DEVICE}`);
    const cell = page.locator('#message-rows .payload', { hasText: '<img src=x onerror' });
    await waitUntil('the message in the log', 30_000, async () => {
      if ((await cell.count()) > 0) return true;
      await page.reload();
      return false;
    });
    expect(await cell.first().textContent()).toContain('<img src=x onerror="window.__xss=1">');
    expect(await page.locator('#message-rows img').count()).toBe(0);
    expect(await page.evaluate('window.__xss')).toBeUndefined();
    await screenshot(page, 'messages-desktop');
  });

  it('lets an admin add a user with a generated password, change the role and remove the user', async () => {
    await page.goto(`${stack.url}/users`);
    await page.fill('#user-add input[name=username]', 'ops-kim');
    await page.selectOption('#user-add select[name=role]', 'operator');
    await page.click('#user-add button[type=submit]');
    const row = page.locator('#user-rows tr[data-user="ops-kim"]');
    await row.waitFor();
    expect(await page.locator('#users-secret code.secret').textContent()).toMatch(/^\S{12,}$/);
    await screenshot(page, 'users-added-desktop');
    const reloaded = page.waitForResponse(
      (r) => r.url().endsWith('/api/users') && r.request().method() === 'GET',
    );
    await row.locator('select.role-select').selectOption('viewer');
    await reloaded;
    await page.reload();
    expect(await page.locator('#user-rows tr[data-user="ops-kim"] select.role-select').inputValue()).toBe(
      'viewer',
    );
    const remove = page.locator('#user-rows tr[data-user="ops-kim"] button[data-action=remove]');
    await remove.click();
    await remove.click(); // the second click confirms
    await expect.poll(() => page.locator('#user-rows tr[data-user="ops-kim"]').count()).toBe(0);
  });

  it('creates an alert rule in the UI, shows the alert firing on /alerts and sends its e-mail', async () => {
    await page.goto(`${stack.url}/alerts#rule-editor`);
    const form = page.locator('#rule-form');
    await form.locator('input[name=name]').fill('Browser test: too warm');
    await form.locator('select[name=scope]').selectOption('device');
    await form.locator('input[name=deviceId]').fill(DEVICE);
    await form.locator('select[name=kind]').selectOption('above');
    await form.locator('input[name=sensor]').fill('temperature');
    // The simulated room is far above this: the alert fires on the next evaluation.
    await form.locator('input[name=threshold]').fill('-40');
    await form.locator('select[name=severity]').selectOption('critical');
    await page.click('[data-add-target="email"]');
    await form.locator('[data-index="0"] input[data-key=to]').fill('ops@example.test');
    await page.click('#rule-submit');
    await page.locator('#rule-rows tr', { hasText: 'Browser test: too warm' }).waitFor();

    // Live over the websocket: no reload.
    const firing = page.locator('#open-rows tr[data-id]', { hasText: 'Browser test: too warm' });
    await firing.waitFor({ timeout: 20_000 });
    expect(await firing.getAttribute('class')).toContain('sev-critical');
    await waitUntil('the alert e-mail', 20_000, async () => stack.smtp.to('ops@example.test').length > 0);
    const mail = stack.smtp.to('ops@example.test')[0]!.raw;
    expect(mail).toContain('Browser test: too warm');
    expect(mail).toContain(DEVICE);
    // One mail per state change, however many readings keep the condition true.
    await page.waitForTimeout(2000);
    expect(stack.smtp.to('ops@example.test')).toHaveLength(1);
    await page.goto(`${stack.url}/devices/${DEVICE}`);
    await page.locator('text=Browser test: too warm').first().waitFor();
  });

  it('renders every page on a desktop and a phone screen without console errors or CSP violations', async () => {
    const pages: [string, string][] = [
      ['fleet', '/'],
      ['device', `/devices/${DEVICE}`],
      ['stats', '/stats'],
      ['messages', `/messages?device=${DEVICE}`],
      ['users', '/users'],
      ['alerts', '/alerts'],
    ];
    for (const [label, viewport] of [
      ['desktop', DESKTOP],
      ['phone', PHONE],
    ] as const) {
      await page.setViewportSize(viewport);
      for (const [name, url] of pages) {
        await page.goto(`${stack.url}${url}`);
        await page.waitForLoadState('networkidle').catch(() => undefined);
        await page.waitForTimeout(800);
        await screenshot(page, `${name}-${label}`);
      }
    }
    await page.goto(`${stack.url}/`);
    await page.click('.nav-toggle');
    await screenshot(page, 'nav-open-phone');
    await page.click('#logout');
    await page.waitForURL(/\/login/);
    await screenshot(page, 'login-phone');
    expect(problems.problems).toEqual([]);
  });
});
