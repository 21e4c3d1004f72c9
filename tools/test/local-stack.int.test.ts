import { mkdtempSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { harnessRoot, httpGet, waitFor } from '../src/harness/index.js';
import { startLocalStack, type LocalStack } from '../src/local-stack/local-stack.js';

/**
 * `npm start` as a module: everything starts in a fresh data dir on free ports, readings of the real
 * device (its own Redis, sensor, button, mqtthandler) and of every fleet device reach MariaDB, the web
 * admin answers, and stop() leaves no process behind.
 */
const dataDir = mkdtempSync(path.join(harnessRoot(), 'local-stack-'));
let stack: LocalStack | undefined;

afterAll(async () => {
  await stack?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

it('runs the device and the fleet into MariaDB, answers /health, and stops every process', async () => {
  const lines: string[] = [];
  stack = await startLocalStack({
    dataDir,
    preferredPorts: false,
    fleetSize: 3,
    intervalMs: 200,
    logLevel: 'warn',
    out: (line) => lines.push(line),
    statusEveryMs: 0,
  });
  expect(stack.fleetIds).toEqual(['sim-001', 'sim-002', 'sim-003']);
  expect(stack.adminPassword).toBeTruthy();
  expect(lines.join('\n')).toContain(`log in as admin / ${stack.adminPassword}`);

  const everyDevice = [stack.deviceId, ...stack.fleetIds];
  const { db } = stack;
  await waitFor('readings of every device in MariaDB', 30_000, async () => {
    const rows = (await db.query(
      `SELECT device_id, COUNT(*) AS n FROM sensorfleet.readings WHERE sensor = 'temperature' GROUP BY device_id`,
    )) as { device_id: string; n: number }[];
    const have = new Map(rows.map((r) => [r.device_id, Number(r.n)]));
    const missing = everyDevice.filter((d) => !((have.get(d) ?? 0) >= 3));
    return missing.length === 0 ? true : `waiting for ${missing.join(', ')}`;
  });

  const health = await httpGet(stack.webadminHealthUrl);
  expect(health.status).toBe(200);
  expect(JSON.parse(health.body)).toMatchObject({ ok: true });
  expect((await httpGet(`${stack.webadminUrl}/`)).status).toBeLessThan(500);
  for (const url of stack.healthUrls) expect((await httpGet(url)).status, url).toBe(200);

  // An alert rule made through the API fires on the device's readings and its e-mail reaches the
  // stack's mail catcher, which a newcomer watches on its page.
  const base = stack.webadminUrl;
  const login = await fetch(`${base}/api/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: base },
    body: JSON.stringify({ username: 'admin', password: stack.adminPassword }),
  });
  expect(login.status).toBe(200);
  const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0]!;
  const { csrfToken } = (await login.json()) as { csrfToken: string };
  const rule = await fetch(`${base}/api/alert-rules`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: base, cookie, 'x-csrf-token': csrfToken },
    body: JSON.stringify({
      name: 'local stack mail check',
      deviceId: stack.deviceId,
      kind: 'above',
      sensor: 'temperature',
      threshold: -50,
      forS: 0,
      severity: 'warning',
      targets: [{ type: 'email', to: 'ops@example.test' }],
    }),
  });
  expect(rule.status, await rule.clone().text()).toBe(201);
  await waitFor('the alert e-mail on the mail catcher page', 30_000, async () => {
    const page = await httpGet(stack!.mailUrl);
    return page.body.includes('local stack mail check') ? true : 'no mail yet';
  });

  const pids = stack.servers.map((s) => s.pid).filter((p): p is number => p !== undefined);
  expect(pids.length).toBe(stack.servers.length);
  await stack.stop();
  expect(pids.filter(alive)).toEqual([]);
}, 120_000);
