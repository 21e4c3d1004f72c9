import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { AlertView } from '@sensorfleet/shared/schemas/alerts';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DESKTOP, launchBrowser, PageProblems, PHONE, screenshot, SHOTS_DIR } from './support/browser.js';
import { XSS_RULE_NAME } from './support/fixture-alerts.js';
import { startFixture, type Fixture } from './support/fixture-server.js';

/*
 * The alerts page and the device page's alert panel in a real browser, against the stand-in API
 * (support/fixture-alerts.ts): order, acknowledge, the editor's server field errors, preview, live frames,
 * roles, and a rule name that is markup staying text. Screenshots go to test-results/webadmin.
 */
let browser: Browser;
const fixtures: Fixture[] = [];

beforeAll(async () => {
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  for (const fx of fixtures) await fx.close();
});

async function open(role: 'viewer' | 'operator' | 'admin', viewport = DESKTOP) {
  const fx = await startFixture({ devices: 12, role });
  fixtures.push(fx);
  const context = await browser.newContext({ viewport });
  await PageProblems.install(context);
  const problems = new PageProblems();
  const page = problems.watch(await context.newPage());
  // An injected handler would open a dialog: that alone fails the test.
  page.on('dialog', (d) => {
    problems.problems.push(`dialog opened: ${d.message()}`);
    void d.dismiss();
  });
  await page.goto(`${fx.url}/login`);
  await page.fill('input[name=username]', 'admin');
  await page.fill('input[name=password]', 'correct horse');
  await page.click('button[type=submit]');
  await page.waitForURL(`${fx.url}/`);
  return { fx, page, problems, close: () => context.close() };
}

const openIds = (page: Page) =>
  page.locator('#open-rows tr[data-id]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-id')));

function newAlert(fx: Fixture, a: Partial<AlertView> & { id: number }): AlertView {
  return {
    ruleId: 1,
    ruleName: 'Greenhouse too hot',
    kind: 'above',
    deviceId: 'greenhouse-01',
    state: 'firing',
    severity: 'critical',
    value: 30.2,
    startedAt: new Date(Date.now() - 6 * 60_000).toISOString(),
    firedAt: new Date().toISOString(),
    resolvedAt: null,
    ackedBy: null,
    ackedAt: null,
    resolvedWhileOffline: false,
    ...fx.alerts.alerts.get(a.id),
    ...a,
  };
}

describe('alerts pages (stand-in API)', () => {
  it('lists firing before pending, acknowledges, follows live frames, keeps markup inert (admin, desktop)', async () => {
    const { fx, page, problems, close } = await open('admin');
    await page.goto(`${fx.url}/alerts`);
    await page.locator('#open-rows tr[data-id]').first().waitFor();
    // critical firing, warning firing (newest first), then pending
    expect(await openIds(page)).toEqual(['60', '58', '59', '57']);
    expect(await page.locator('#alerts-summary').textContent()).toBe(
      '3 firing (1 critical) · 1 pending · 6 rules',
    );
    expect(await page.locator('#nav-alert-count').textContent()).toBe('3');
    const first = page.locator('#open-rows tr[data-id="60"]');
    expect(await first.locator('td[data-label="Value"]').textContent()).toContain('29.4 °C');
    expect(await first.locator('time').getAttribute('title')).toMatch(/UTC$/);
    expect(await page.locator('#open-rows tr[data-id="59"] td[data-label="Value"]').textContent()).toContain(
      '2 h',
    );
    // The rule name is markup: it shows as text and nothing of it runs.
    expect(await page.locator('#open-rows tr[data-id="58"] .alert-name').textContent()).toBe(XSS_RULE_NAME);
    expect(await page.locator('img[src="x"]').count()).toBe(0);
    await page.locator('#history-rows tr[data-id]').first().waitFor();
    expect(await page.locator('#history-rows tr[data-id]').count()).toBe(25);
    expect(await page.locator('#history-rows tr[data-id="55"]').textContent()).toContain(
      'resolved while offline',
    );
    await page.waitForTimeout(300);
    await screenshot(page, 'fixture-alerts-desktop');

    // Acknowledge: the row says who, the stand-in stored it.
    await first.locator('button[data-ack]').click();
    await expect.poll(() => first.locator('td[data-label="Acknowledged"]').textContent()).toContain('admin');
    expect(fx.alerts.alerts.get(60)?.ackedBy).toBe('admin');

    // Live: a new critical alert goes on top, the pending one resolving leaves the open list for the history.
    fx.alerts.push(newAlert(fx, { id: 61, deviceId: 'workshop-08', value: 31.5 }));
    await expect.poll(() => openIds(page)).toEqual(['61', '60', '58', '59', '57']);
    expect(await page.locator('#nav-alert-count').textContent()).toBe('4');
    fx.alerts.push(
      newAlert(fx, { id: 57, state: 'resolved', resolvedAt: new Date().toISOString(), value: 36 }),
    );
    await expect.poll(() => openIds(page)).toEqual(['61', '60', '58', '59']);
    await expect
      .poll(() => page.locator('#history-rows tr[data-id]').first().getAttribute('data-id'))
      .toBe('57');

    // History: next page by cursor, then a device filter.
    await page.click('#history-more');
    await expect.poll(() => page.locator('#history-rows tr[data-id]').count()).toBe(36);
    expect(await page.locator('#history-more').isHidden()).toBe(true);
    await page.fill('#history-filter input[name=deviceId]', 'cold-room-07');
    await page.click('#history-filter button[type=submit]');
    await expect.poll(() => page.locator('#history-rows tr[data-id]').count()).toBe(1);
    expect(new URL(page.url()).searchParams.get('deviceId')).toBe('cold-room-07');

    expect(await page.evaluate('window.__xss')).toBeUndefined();
    expect(problems.problems).toEqual([]);
    await close();
  });

  it('edits rules: the server field error under its input, preview, create, edit, delete (admin)', async () => {
    const { fx, page, problems, close } = await open('admin');
    await page.goto(`${fx.url}/alerts#rule-editor`);
    await page.locator('#rule-rows tr[data-rule]').first().waitFor();
    const form = page.locator('#rule-form');
    await form.locator('input[name=name]').fill('Lab too warm');
    await form.locator('select[name=scope]').selectOption('device');
    await form.locator('input[name=deviceId]').fill('lab-12');
    await form.locator('select[name=kind]').selectOption('above');
    await form.locator('input[name=sensor]').fill('temperature');
    await form.locator('input[name=threshold]').fill('21');
    await form.locator('input[name=forS]').fill('5');

    // Preview replays the stand-in's curves: lab-12 crosses 21 °C once in the afternoon.
    await page.click('#rule-preview-btn');
    await expect
      .poll(() => page.locator('#rule-preview').textContent())
      .toMatch(/Would have fired (once|\d+ times) in the last 24 h/);
    const previewText = await page.locator('#rule-preview').textContent();

    // A client hint first: a webhook without a secret is not sent at all.
    await page.click('[data-add-target="webhook"]');
    await form.locator('[data-index="0"] input[data-key=url]').fill('http://example.com/hook');
    await page.click('#rule-submit');
    const secretError = form.locator('[data-error-for="targets.0.secret"]');
    expect(await secretError.isVisible()).toBe(true);
    await form.locator('[data-index="0"] [data-generate]').click();
    expect((await form.locator('[data-index="0"] input[data-key=secret]').inputValue()).length).toBe(48);
    // The server refuses plain http to that host: its `field` puts the message under the URL input.
    await page.click('#rule-submit');
    const urlError = form.locator('[data-error-for="targets.0.url"]');
    await expect
      .poll(() => urlError.textContent())
      .toContain('http is allowed only for ALERT_WEBHOOK_ALLOW hosts');
    expect(await urlError.isVisible()).toBe(true);
    expect(await form.locator('[data-index="0"] input[data-key=url]').getAttribute('aria-invalid')).toBe(
      'true',
    );
    expect(await page.locator('#rule-error').isHidden()).toBe(true);
    await page.locator('#rule-editor').scrollIntoViewIfNeeded();
    await screenshot(page, 'fixture-alerts-editor-desktop');

    await form.locator('[data-index="0"] input[data-key=url]').fill('https://hooks.example.net/lab');
    await page.click('#rule-submit');
    await page.locator('#rule-rows tr', { hasText: 'Lab too warm' }).waitFor();
    const created = [...fx.alerts.alerts.values()].length; // unchanged: rules are not alerts
    expect(created).toBeGreaterThan(0);
    expect(await page.locator('#rule-editor-h').textContent()).toBe('New rule');

    // Edit it: the form is filled from the rule; targets untouched are not resent (their secret is not here).
    const row = page.locator('#rule-rows tr', { hasText: 'Lab too warm' });
    await row.locator('[data-rule-action=edit]').click();
    expect(await form.locator('input[name=threshold]').inputValue()).toBe('21');
    expect(await form.locator('select[name=forUnit]').inputValue()).toBe('60');
    await form.locator('select[name=kind]').selectOption('offline');
    await page.click('#rule-preview-btn');
    await expect
      .poll(() => page.locator('#rule-preview').textContent())
      .toContain('Preview not available for offline rules');
    await page.click('#rule-submit');
    await expect
      .poll(() => row.locator('td[data-label="Condition"]').textContent())
      .toContain('offline for 5 min');

    // Delete asks once more on the same button.
    await row.locator('[data-rule-action=delete]').click();
    expect(await row.locator('[data-rule-action=delete]').textContent()).toContain('Confirm delete');
    await row.locator('[data-rule-action=delete]').click();
    await expect.poll(() => page.locator('#rule-rows tr', { hasText: 'Lab too warm' }).count()).toBe(0);

    expect(previewText).not.toContain('undefined');
    // The browser logs the one 400 this test provoked on purpose.
    const refused = /status of 400 \(Bad Request\) \(http:[^)]+\/api\/alert-rules\)$/;
    expect(problems.problems.filter((p) => !refused.test(p))).toEqual([]);
    await close();
  });

  it('shows no ack or edit controls to a viewer, ack but no editor to an operator', async () => {
    const viewer = await open('viewer');
    await viewer.page.goto(`${viewer.fx.url}/alerts`);
    await viewer.page.locator('#open-rows tr[data-id]').first().waitFor();
    await viewer.page.locator('#rule-rows tr[data-rule]').first().waitFor();
    expect(await viewer.page.locator('button[data-ack]').count()).toBe(0);
    expect(await viewer.page.locator('#rule-editor, [data-rule-action], #rule-new').count()).toBe(0);
    await screenshot(viewer.page, 'fixture-alerts-viewer-desktop');
    expect(viewer.problems.problems).toEqual([]);
    await viewer.close();

    const operator = await open('operator');
    await operator.page.goto(`${operator.fx.url}/alerts`);
    await operator.page.locator('#open-rows tr[data-id]').first().waitFor();
    await operator.page.locator('#rule-rows tr[data-rule]').first().waitFor();
    expect(await operator.page.locator('button[data-ack]').count()).toBe(3); // lab-04's is acked already
    expect(await operator.page.locator('#rule-editor, [data-rule-action]').count()).toBe(0);
    expect(operator.problems.problems).toEqual([]);
    await operator.close();
  });

  it("shows a device's open alerts on its page, live", async () => {
    const { fx, page, problems, close } = await open('operator');
    await page.goto(`${fx.url}/devices/greenhouse-01`);
    const rows = page.locator('#device-alert-rows tr[data-id]');
    await rows.first().waitFor();
    expect(await rows.count()).toBe(1);
    fx.alerts.push(
      newAlert(fx, {
        id: 62,
        ruleId: 2,
        ruleName: 'Air too dry',
        kind: 'below',
        state: 'pending',
        severity: 'warning',
        firedAt: null,
        value: 33.9,
      }),
    );
    fx.alerts.push(newAlert(fx, { id: 63, deviceId: 'cellar-02' })); // another device's: not here
    await expect.poll(() => rows.count()).toBe(2);
    expect(
      await page.locator('#device-alert-rows tr[data-id="62"] td[data-label="Value"]').textContent(),
    ).toContain('33.9 %RH');
    expect(await page.locator('#device-alerts a[href*="/alerts?deviceId=greenhouse-01"]').count()).toBe(1);
    await page.waitForTimeout(500);
    await screenshot(page, 'fixture-device-alerts-desktop');
    fx.alerts.push(newAlert(fx, { id: 60, state: 'resolved', resolvedAt: new Date().toISOString() }));
    fx.alerts.push(
      newAlert(fx, {
        id: 62,
        ruleId: 2,
        ruleName: 'Air too dry',
        kind: 'below',
        state: 'resolved',
        severity: 'warning',
        resolvedAt: new Date().toISOString(),
      }),
    );
    await expect
      .poll(() => page.locator('#device-alert-rows').textContent())
      .toContain('No open alerts for this device');
    expect(problems.problems).toEqual([]);
    await close();
  });

  it('renders as cards on a phone', async () => {
    const { fx, page, problems, close } = await open('admin', PHONE);
    await page.goto(`${fx.url}/alerts`);
    await page.locator('#open-rows tr[data-id]').first().waitFor();
    await page.locator('#history-rows tr[data-id]').first().waitFor();
    await page.locator('#rule-rows tr[data-rule]').first().waitFor();
    await page.waitForTimeout(300);
    await screenshot(page, 'fixture-alerts-phone');
    // The editor is below a long history: its own picture, with a target row and a preview in it.
    await page.click('[data-add-target="webhook"]');
    await page.locator('#rule-form input[name=name]').fill('Too humid');
    await page.locator('#rule-form select[name=kind]').selectOption('above');
    await page.locator('#rule-form input[name=sensor]').fill('humidity');
    await page.locator('#rule-form input[name=threshold]').fill('60');
    await page.click('#rule-preview-btn');
    await page.locator('#rule-preview strong').waitFor();
    mkdirSync(SHOTS_DIR, { recursive: true });
    // A clip of the full page, not an element shot: the sticky header would cover the editor's top.
    await page.evaluate('window.scrollTo(0, 0)');
    const box = (await page.locator('#rule-editor').boundingBox())!;
    await page.screenshot({
      path: path.join(SHOTS_DIR, 'fixture-alerts-editor-phone.png'),
      fullPage: true,
      clip: { x: 0, y: box.y - 12, width: PHONE.width, height: box.height + 24 },
    });
    await page.goto(`${fx.url}/devices/greenhouse-01`);
    await page.locator('#device-alert-rows tr[data-id]').first().waitFor();
    await page.waitForTimeout(500);
    await screenshot(page, 'fixture-device-alerts-phone');
    expect(await page.evaluate('window.__xss')).toBeUndefined();
    expect(problems.problems).toEqual([]);
    await close();
  });
});
