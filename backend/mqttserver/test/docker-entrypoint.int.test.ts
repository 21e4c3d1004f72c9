import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { connectAsync } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BROKER_ACL_FILE,
  BROKER_CONFIG_TEMPLATE,
  BROKER_DIR,
  EntrypointServer,
  findBinary,
  freePort,
  mqttConnectProbe,
} from '@sensorfleet/tools/harness';

/**
 * The image's mqttserver-entrypoint.sh as the container runs it, with the real mosquitto, mosquitto_passwd
 * and make-dev-certs.sh: the MOSQUITTO_* paths point at a temp dir. The one change to the shipped
 * mosquitto.conf is its two `listener` lines (free ports on 127.0.0.1 instead of 1883 and 8883, which a
 * test machine may not have free); the ACL is the shipped one.
 */
const ENTRYPOINT = path.join(BROKER_DIR, 'docker-entrypoint.sh');
// Not under the harness's private (0700) run root: as root, Mosquitto drops to user mosquitto, who must
// reach the config, accounts and data like in the image.
const work = mkdtempSync(path.join(os.tmpdir(), 'mqttserver-entrypoint-test-'));
chmodSync(work, 0o755);

const bin = path.join(work, 'bin');
mkdirSync(bin);
symlinkSync(findBinary('mosquitto', 'MOSQUITTO_BIN'), path.join(bin, 'mosquitto'));
symlinkSync(findBinary('mosquitto_passwd', 'MOSQUITTO_PASSWD_BIN'), path.join(bin, 'mosquitto_passwd'));
symlinkSync(path.join(BROKER_DIR, 'make-dev-certs.sh'), path.join(bin, 'make-dev-certs.sh'));
const PATH = `${bin}${path.delimiter}${process.env.PATH ?? ''}`;

/** The shipped config with its listeners moved to the given ports, and the shipped ACL next to it. */
function writeTemplate(configDir: string, plainPort: number, tlsPort: number): string {
  mkdirSync(configDir, { recursive: true });
  const template = path.join(configDir, 'mosquitto.conf');
  const shipped = readFileSync(BROKER_CONFIG_TEMPLATE, 'utf8');
  const moved = shipped
    .replace(/^listener 1883$/m, `listener ${plainPort} 127.0.0.1`)
    .replace(/^listener 8883$/m, `listener ${tlsPort} 127.0.0.1`);
  expect(moved.split('\n').filter((line, i) => line !== shipped.split('\n')[i])).toHaveLength(2);
  writeFileSync(template, moved);
  copyFileSync(BROKER_ACL_FILE, path.join(configDir, 'acl'));
  return template;
}

const paths = (dir: string) => ({
  MOSQUITTO_CONF_TEMPLATE: path.join(dir, 'config', 'mosquitto.conf'),
  MOSQUITTO_RENDERED_CONF: path.join(dir, 'mosquitto.conf'),
  MOSQUITTO_PASSWORD_FILE: path.join(dir, 'auth', 'passwd'),
  MOSQUITTO_ACL_FILE: path.join(dir, 'acl-in-use', 'acl'),
  MOSQUITTO_DATA_DIR: path.join(dir, 'data'),
  MOSQUITTO_CERT_DIR: path.join(dir, 'certs'),
});

const RECEIVER_PASSWORD = 'receiver-secret-from-env';
let broker: EntrypointServer;
let tlsPort: number;

beforeAll(async () => {
  tlsPort = await freePort();
  broker = await EntrypointServer.start({
    kind: 'mqttserver-entrypoint',
    dir: path.join(work, 'broker'),
    script: ENTRYPOINT,
    prepare: (dir, port) => void writeTemplate(path.join(dir, 'config'), port, tlsPort),
    env: (dir) => ({ PATH, ...paths(dir), MQTT_RECEIVER_PASSWORD: RECEIVER_PASSWORD }),
    // Any CONNACK: the listener is up (Mosquitto's own log, on a pipe, arrives late: stdout is buffered).
    ready: async (port) => (await mqttConnectProbe(port)) >= 0,
  });
});
afterAll(async () => {
  await broker?.destroy();
  rmSync(work, { recursive: true, force: true });
});

describe('backend/mqttserver docker-entrypoint.sh', () => {
  it('starts Mosquitto with the shipped security: anonymous clients are refused', async () => {
    expect(await mqttConnectProbe(broker.port)).toBe(5); // not authorized
  });

  it('sets the service account from MQTT_RECEIVER_PASSWORD, and only that password works', async () => {
    const ok = await connectAsync(`mqtt://127.0.0.1:${broker.port}`, {
      username: 'receiver',
      password: RECEIVER_PASSWORD,
      reconnectPeriod: 0,
    });
    await ok.endAsync();
    await expect(
      connectAsync(`mqtt://127.0.0.1:${broker.port}`, {
        username: 'receiver',
        password: 'wrong',
        reconnectPeriod: 0,
      }),
    ).rejects.toThrow(/Not authorized|Bad username or password/i);
  });

  it('makes dev certificates when none are mounted, and serves TLS with them', async () => {
    const certs = paths(broker.dir).MOSQUITTO_CERT_DIR;
    const client = await connectAsync(`mqtts://localhost:${tlsPort}`, {
      username: 'receiver',
      password: RECEIVER_PASSWORD,
      ca: readFileSync(path.join(certs, 'ca.crt')),
      reconnectPeriod: 0,
    });
    await client.endAsync();
  });

  it('creates what is missing: an empty-then-filled private password file, the ACL from the image', () => {
    const p = paths(broker.dir);
    expect(statSync(p.MOSQUITTO_PASSWORD_FILE).mode & 0o777).toBe(0o600);
    expect(readFileSync(p.MOSQUITTO_PASSWORD_FILE, 'utf8')).toMatch(/^receiver:\$7\$/m);
    expect(readFileSync(p.MOSQUITTO_ACL_FILE, 'utf8')).toBe(readFileSync(BROKER_ACL_FILE, 'utf8'));
    const log = readFileSync(broker.outputLog, 'utf8');
    expect(log).toMatch(/created an empty password file/);
    expect(log).toMatch(/created ACL file/);
    expect(log).toMatch(/generating a DEV CA/);
    const rendered = readFileSync(p.MOSQUITTO_RENDERED_CONF, 'utf8').split('\n');
    for (const line of [
      `password_file ${p.MOSQUITTO_PASSWORD_FILE}`,
      `acl_file ${p.MOSQUITTO_ACL_FILE}`,
      `persistence_location ${p.MOSQUITTO_DATA_DIR}`,
      `cafile ${p.MOSQUITTO_CERT_DIR}/ca.crt`,
      `certfile ${p.MOSQUITTO_CERT_DIR}/server.crt`,
      `keyfile ${p.MOSQUITTO_CERT_DIR}/server.key`,
    ])
      expect(rendered).toContain(line);
  });

  it.each([
    [{ MOSQUITTO_DATA_DIR: 'data' }, /paths must be absolute \(got 'data'\)/],
    [{ MQTT_TLS_DEV_CERTS: 'false' }, /no TLS certificate in .* and MQTT_TLS_DEV_CERTS=false/],
  ])('refuses to start with %o, saying why', (bad, message) => {
    const dir = mkdtempSync(path.join(work, 'bad-'));
    writeTemplate(path.join(dir, 'config'), 1, 2);
    const r = spawnSync('sh', [ENTRYPOINT], {
      cwd: dir,
      env: { ...process.env, PATH, ...paths(dir), ...bad },
      encoding: 'utf8',
      timeout: 10_000,
    });
    expect(r.status).toBe(1);
    expect(r.stdout + r.stderr).toMatch(message);
    expect(existsSync(paths(dir).MOSQUITTO_RENDERED_CONF)).toBe(false);
  });
});
