import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { deviceEnvBlock } from '@sensorfleet/mqttserver/provisioning/env-block';
import { freePort, harnessRoot, httpGet, REPO_ROOT, SecuredBroker, waitFor } from '../src/harness/index.js';

/**
 * `npm run fleet` against a broker it knows nothing about: TLS with the dev CA (`--ca`), accounts from
 * what `npm run device -- add` prints (`--credentials`), its own private Redis (no `--redis`). Both devices
 * connect with their own accounts; SIGTERM ends it with exit 0.
 */
const dir = mkdtempSync(path.join(harnessRoot(), 'fleet-cli-'));
let broker: SecuredBroker | undefined;

afterAll(async () => {
  await broker?.destroy();
  rmSync(dir, { recursive: true, force: true });
});

it('connects every device over TLS with the provisioned accounts and stops on SIGTERM', async () => {
  broker = await SecuredBroker.start({ tls: true });
  const ids = ['field-1', 'field-2'];
  const passwords = await broker.setAccounts(ids);
  const credentials = path.join(dir, 'devices.txt');
  writeFileSync(
    credentials,
    ids
      .map((id) => deviceEnvBlock({ deviceId: id, password: passwords.get(id)!, mqttUrl: broker!.tlsUrl }))
      .join('\n\n'),
  );
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [
      path.join(REPO_ROOT, 'tools/dist/fleet/main.js'),
      ...['--url', broker.tlsUrl, '--ca', broker.caFile, '--credentials', credentials],
      ...['--rate', '5', '--metrics-port', String(port)],
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  try {
    await waitFor('both devices connected and measuring', 30_000, async () => {
      const r = await httpGet(`http://127.0.0.1:${port}/health`).catch(() => undefined);
      const detail = r
        ? (JSON.parse(r.body) as { checks: { fleet: { detail: Record<string, number> } } })
        : undefined;
      const s = detail?.checks.fleet.detail;
      return s?.connected === 2 && (s.measured ?? 0) >= 4 ? true : JSON.stringify(s ?? 'no answer');
    });
    expect(stdout).toContain(`2 device(s) → ${broker.tlsUrl}`);
    const metrics = await httpGet(`http://127.0.0.1:${port}/metrics`);
    expect(metrics.body).toMatch(/sensorfleet_fleet_connected\{[^}]*\} 2/);
  } finally {
    child.kill('SIGTERM');
  }
  expect(await exited).toBe(0);
}, 60_000);
