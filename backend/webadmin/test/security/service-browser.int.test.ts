import { readFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topics } from '@sensorfleet/shared';
import {
  freePort,
  MariaDbServer,
  NodeService,
  REPO_ROOT,
  SecuredBroker,
  waitFor,
} from '@sensorfleet/tools/harness';
import mariadb from 'mariadb';
import mqtt, { type MqttClient } from 'mqtt';
import { launchBrowser, PageProblems } from '../browser/support/browser.js';

/*
 * The built web admin service as its own process (real MariaDB, the secured broker with the shipped ACL)
 * and Debian's chromium: markup in everything a device or a user can put on a page stays text, and runs
 * nothing; the API docs work under the strict CSP; and the service's log output never contains a
 * password, a hash, a token or a session id used during the run.
 */
const DEVICE = 'xss-dev';
const ADMIN = 'sec-admin';
const ADMIN_PASSWORD = 'correct-horse-battery-staple-9';
/**
 * Each payload would set window.__xss or create an element with an id starting with `xss-` if it ever
 * became markup (the CSP alone would stop the scripts, not the elements: escaping is what is tested).
 */
const PAYLOADS = [
  '<img id="xss-img" src=x onerror="window.__xss=1">',
  '"><svg id="xss-svg" onload="window.__xss=2"></svg>',
  '\'><script id="xss-script">window.__xss=3</script>',
  '</td></tr><tr><td><b id="xss-b">bold</b>',
  '<iframe id="xss-frame" srcdoc="<script>parent.__xss=4</script>"></iframe>',
  '`${window.__xss=5}`<a id="xss-a" href="javascript:window.__xss=6">x</a>',
];
const EVIL = PAYLOADS.join(' ');

let db: MariaDbServer;
let broker: SecuredBroker;
let webadmin: NodeService;
let url: string;
let databaseUrl: string;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let device: MqttClient;
const problems = new PageProblems();
const secrets = new Set<string>([ADMIN_PASSWORD]);

async function query<T>(sql: string, params: unknown[] = []): Promise<T[]> {
  const conn = await mariadb.createConnection(databaseUrl);
  try {
    return (await conn.query(sql, params)) as T[];
  } finally {
    await conn.end();
  }
}

/** `npm run user -- add`, password on stdin, as an operator makes the first admin. */
function addAdmin(): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [path.join(REPO_ROOT, 'backend/webadmin/dist/cli/user.js'), 'add', ADMIN, '--role', 'admin'],
      {
        env: { PATH: process.env.PATH, DATABASE_URL: databaseUrl, LOG_LEVEL: 'warn' },
        stdio: ['pipe', 'ignore', 'pipe'],
      },
    );
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`user add exited ${code}: ${err}`)),
    );
    child.stdin.end(`${ADMIN_PASSWORD}\n`);
  });
}

/** A request of the signed-in browser, from Node (cookie and CSRF token of its session). */
async function api(
  method: string,
  apiPath: string,
  body?: unknown,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const cookie = (await context.cookies()).map((c) => `${c.name}=${c.value}`).join('; ');
  const session = (await (await fetch(`${url}/api/session`, { headers: { cookie } })).json()) as {
    csrfToken: string;
  };
  const r = await fetch(`${url}${apiPath}`, {
    method,
    headers: { cookie, origin: url, 'x-csrf-token': session.csrfToken, 'content-type': 'application/json' },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await r.text();
  return { status: r.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

async function expectInert(p: Page, what: string): Promise<void> {
  expect(await p.evaluate('window.__xss'), `${what}: a payload ran`).toBeUndefined();
  expect(await p.locator('[id^="xss-"]').count(), `${what}: a payload became an element`).toBe(0);
}

beforeAll(async () => {
  [db, broker] = await Promise.all([MariaDbServer.start(), SecuredBroker.start()]);
  databaseUrl = await db.createDatabase();
  const mqttPassword = await broker.setAccount('webadmin');
  const devicePassword = await broker.setAccount(DEVICE);
  secrets.add(mqttPassword).add(devicePassword);
  const httpPort = await freePort();
  url = `http://127.0.0.1:${httpPort}`;
  webadmin = await NodeService.start('backend/webadmin', {
    env: {
      // debug: the most the service ever logs in production settings
      LOG_LEVEL: 'debug',
      DATABASE_URL: databaseUrl,
      MQTT_URL: broker.url,
      MQTT_USERNAME: 'webadmin',
      MQTT_PASSWORD: mqttPassword,
      HTTP_PORT: String(httpPort),
      HTTP_HOST: '127.0.0.1',
      PUBLIC_URL: url,
      COMMAND_POLL_INTERVAL: '300ms',
    },
  });
  await waitFor(
    'the web admin to migrate',
    60_000,
    async () => (await fetch(`${url}/api/health`)).status === 200,
    200,
  );
  await addAdmin();
  // What the receiver would have stored from a device that reports markup everywhere it can.
  const state = {
    v: 1,
    running: true,
    intervalMs: 1000,
    backlog: 0,
    version: EVIL.slice(0, 200),
    sensor: { status: 'error', driver: EVIL.slice(0, 100), model: PAYLOADS[1], lastError: EVIL, errors: 3 },
    uptimeS: 5,
    ts: new Date().toISOString(),
  };
  await query(
    'INSERT INTO devices (id, online, last_state, last_state_at, last_seen, first_seen) VALUES (?, 1, ?, NOW(3), NOW(3), NOW(3))',
    [DEVICE, JSON.stringify(state)],
  );
  await query(
    'INSERT INTO readings (device_id, seq, sensor, value, measured_at, received_at, batch_id) VALUES (?, 1, ?, 21.5, NOW(3) - INTERVAL 1 MINUTE, NOW(3), 1)',
    [DEVICE, 'temperature'],
  );
  const logged = `{"v":1,"readings":[${EVIL}]}`;
  await query(
    'INSERT INTO message_log (received_at, device_id, topic_kind, bytes, payload, outcome, reason, readings, rejected)' +
      " VALUES (NOW(3), ?, 'telemetry', ?, ?, 'rejected', ?, 1, 1)",
    [DEVICE, logged.length, Buffer.from(logged), 'schema'],
  );
  // The device answers every command with an error made of markup, over the real broker.
  device = await mqtt.connectAsync(broker.deviceUrl, {
    username: DEVICE,
    password: devicePassword,
    reconnectPeriod: 0,
  });
  device.on('message', (_topic, payload) => {
    const { id } = JSON.parse(payload.toString()) as { id: string };
    void device.publishAsync(topics.commandResult(DEVICE), JSON.stringify({ id, ok: false, error: EVIL }), {
      qos: 1,
    });
  });
  await device.subscribeAsync(topics.commands(DEVICE), { qos: 1 });

  browser = await launchBrowser();
  context = await browser.newContext();
  await PageProblems.install(context);
  page = problems.watch(await context.newPage());
}, 180_000);

afterAll(async () => {
  await device?.endAsync(true).catch(() => undefined);
  await context?.close();
  await browser?.close();
  await webadmin?.stop();
  await Promise.allSettled([broker?.destroy(), db?.stop()]);
});

describe('markup from devices and users, in Chromium against the real service', () => {
  it('signs in through the login page', async () => {
    await page.goto(`${url}/login`);
    await page.fill('input[name=username]', ADMIN);
    await page.fill('input[name=password]', ADMIN_PASSWORD);
    await page.click('button[type=submit]');
    await page.waitForURL(`${url}/`);
    for (const c of await context.cookies()) secrets.add(c.value);
  });

  it('keeps a device name, its reported state and its command errors as text on every page', async () => {
    const renamed = await api('PATCH', `/api/devices/${DEVICE}`, { name: EVIL.slice(0, 255) });
    expect(renamed.status).toBe(200);
    const sent = await api('POST', `/api/devices/${DEVICE}/commands`, { command: 'ping' });
    expect(sent.status).toBe(202);
    await waitFor('the device’s answer to be recorded', 20_000, async () => {
      const c = await api('GET', `/api/commands/${String(sent.json.id)}`);
      return c.json.status === 'failed';
    });

    await page.goto(`${url}/`);
    const row = page.locator(`#fleet-rows tr[data-id="${DEVICE}"]`);
    await row.waitFor();
    await expect.poll(() => row.textContent()).toContain('<img id="xss-img"');
    await expectInert(page, 'fleet');

    await page.goto(`${url}/devices/${DEVICE}`);
    await expect.poll(() => page.locator('#dev-name').textContent()).toContain('<img id="xss-img"');
    await expect
      .poll(() => page.locator('#state-cards').textContent(), { timeout: 10_000 })
      .toContain('<iframe id="xss-frame"');
    await expect
      .poll(() => page.locator('#command-rows').textContent(), { timeout: 10_000 })
      .toContain('<svg id="xss-svg"');
    expect(await page.title()).toContain('<img id="xss-img"');
    await expectInert(page, 'device');
  });

  it('keeps a message-log payload made of markup as text', async () => {
    await page.goto(`${url}/messages?device=${DEVICE}`);
    const cell = page.locator('#message-rows .payload').first();
    await expect.poll(() => cell.textContent(), { timeout: 10_000 }).toContain('<script id="xss-script">');
    await expectInert(page, 'messages');
  });

  it('keeps markup in a search box and the URL as text', async () => {
    await page.goto(`${url}/?search=${encodeURIComponent(PAYLOADS[0]!)}`);
    await page.waitForLoadState('networkidle').catch(() => undefined);
    await expectInert(page, 'fleet search');
    await page.goto(`${url}/devices/${encodeURIComponent(PAYLOADS[1]!)}`);
    await page.waitForLoadState('networkidle').catch(() => undefined);
    await expectInert(page, 'device page of a bad id');
  });

  it('renders the API docs under the strict CSP without violations', async () => {
    await page.goto(`${url}/docs`);
    await page.locator('.swagger-ui .opblock').first().waitFor({ timeout: 20_000 });
    expect(await page.locator('.swagger-ui .opblock').count()).toBeGreaterThan(10);
  });

  it('saw no CSP violation or script error anywhere', () => {
    // The API's 400 for the deliberately bad device id is the only expected complaint.
    expect(problems.problems.filter((p) => !/status of 400 .*\/api\/devices\/%22/.test(p))).toEqual([]);
  });
});

describe('secrets in the service log', () => {
  it('are never written: passwords, hashes, tokens, session ids, CSRF tokens, broker and database secrets', async () => {
    const made = await api('POST', '/api/users', { username: 'sec-new', role: 'operator' });
    expect(made.status).toBe(201);
    secrets.add(String(made.json.generatedPassword));
    const token = await api('POST', '/api/users/sec-new/tokens', { label: 'ci' });
    secrets.add(String(token.json.token));
    await fetch(`${url}/api/devices`, { headers: { authorization: `Bearer ${String(token.json.token)}` } });
    const reset = await api('PATCH', '/api/users/sec-new', { password: 'another-password-77' });
    expect(reset.status).toBe(200);
    secrets.add('another-password-77');
    const session = (await api('GET', '/api/session')).json;
    secrets.add(String(session.csrfToken));
    // A failed login with a password that is nearly right, and one with the right password of another user.
    for (const password of [`${ADMIN_PASSWORD}x`, 'another-password-77']) {
      await fetch(`${url}/api/session`, {
        method: 'POST',
        headers: { origin: url, 'content-type': 'application/json' },
        body: JSON.stringify({ username: ADMIN, password }),
      });
    }
    secrets.add(`${ADMIN_PASSWORD}x`);
    for (const r of await query<{ password_hash: string }>('SELECT password_hash FROM webadmin_users')) {
      secrets.add(r.password_hash).add(r.password_hash.split('$').pop()!);
    }
    const dbPassword = new URL(databaseUrl).password;
    if (dbPassword) secrets.add(decodeURIComponent(dbPassword));

    await new Promise((r) => setTimeout(r, 500)); // pino writes asynchronously
    const log = readFileSync(webadmin.outputLog, 'utf8');
    expect(log.length).toBeGreaterThan(500); // the service did log (debug): the check is not vacuous
    for (const s of secrets) {
      expect(s.length).toBeGreaterThanOrEqual(12);
      expect(log.includes(s), `the log contains a secret (${s.slice(0, 4)}…)`).toBe(false);
    }
    expect(log).not.toMatch(/\$argon2/);
  });
});
