import { execFile, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool, migrate } from '@sensorfleet/mariadb';
import { topicFilters, topics } from '@sensorfleet/shared';
import { MariaDbServer, SecuredBroker } from '@sensorfleet/tools/harness';
import { runCli } from '../src/provisioning/cli.js';

/**
 * `npm run device` end to end: a real Mosquitto running the shipped config (reloaded by the CLI through
 * the pid file it writes), real mosquitto_passwd, a real MariaDB with the real migrations.
 */

const MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../dist/provisioning/main.js');

let broker: SecuredBroker;
let db: MariaDbServer;
let databaseUrl: string;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  [broker, db] = await Promise.all([SecuredBroker.start(), MariaDbServer.start()]);
  databaseUrl = await db.createDatabase();
  const pool = createPool(databaseUrl, { connectionLimit: 1 });
  try {
    await migrate(pool);
  } finally {
    await pool.end();
  }
  env = {
    MOSQUITTO_PASSWORD_FILE: broker.passwordFile,
    MOSQUITTO_ACL_FILE: broker.aclFile,
    MOSQUITTO_PID_FILE: broker.pidFile,
    PUBLIC_MQTT_URL: broker.url,
    DATABASE_URL: databaseUrl,
  };
});

afterAll(async () => {
  await Promise.all([broker?.destroy(), db?.destroy()]);
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  /** The printed variables (KEY=value lines of stdout). */
  vars: Record<string, string>;
}

/** Runs the CLI in this process and waits for the broker reload it triggers (when it changed something). */
async function device(args: string[], environment: NodeJS.ProcessEnv = env): Promise<Run> {
  const reloadsBefore = broker.reloads();
  let stdout = '';
  let stderr = '';
  const code = await runCli(args, environment, {
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
  });
  if (/broker: reloaded/.test(stderr)) await broker.waitForReload(reloadsBefore);
  const vars = Object.fromEntries(
    stdout
      .split('\n')
      .map((line) => /^([A-Z_]+)=(.*)$/.exec(line))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => [m[1]!, m[2]!]),
  );
  return { code, stdout, stderr, vars };
}

async function canConnect(username: string, password: string | undefined): Promise<boolean> {
  let client: MqttClient;
  try {
    client = await connectAsync(broker.url, { username, password, reconnectPeriod: 0, connectTimeout: 5000 });
  } catch (err) {
    if (/not authorized/i.test((err as Error).message)) return false;
    throw err;
  }
  await client.endAsync();
  return true;
}

/** Table name qualified with the test database (the harness's query() connects without one). */
const devicesTable = () => `\`${new URL(databaseUrl).pathname.slice(1)}\`.devices`;

async function deviceRow(id: string) {
  const rows = (await db.query(
    `SELECT mqtt_username, credentials_created_at FROM ${devicesTable()} WHERE id = ?`,
    [id],
  )) as { mqtt_username: string | null; credentials_created_at: Date | null }[];
  return rows[0];
}

describe('npm run device -- add', () => {
  it('prints credentials that connect, stores only a hash and registers the device', async () => {
    const before = Date.now();
    const run = await device(['add', 'cli-dev-1']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.vars).toMatchObject({
      MQTT_URL: broker.url,
      MQTT_USERNAME: 'cli-dev-1',
      DEVICE_ID: 'cli-dev-1',
    });
    const password = run.vars.MQTT_PASSWORD!;
    expect(password).toMatch(/^[A-Za-z0-9_-]{24,}$/);
    expect(run.stderr).toMatch(/broker: reloaded \(SIGHUP to pid \d+ from pid file/);
    expect(run.stderr).not.toContain(password);

    expect(await canConnect('cli-dev-1', password)).toBe(true);
    const file = readFileSync(broker.passwordFile, 'utf8');
    expect(file).not.toContain(password);
    expect(file).toMatch(/^cli-dev-1:\$7\$/m); // PBKDF2-SHA512 by mosquitto_passwd

    const row = await deviceRow('cli-dev-1');
    expect(row?.mqtt_username).toBe('cli-dev-1');
    expect(row?.credentials_created_at?.getTime()).toBeGreaterThanOrEqual(before - 1000);
  });

  it('refuses an existing device unless --rotate, which retires the old password at once', async () => {
    const first = await device(['add', 'cli-dev-2']);
    const oldPassword = first.vars.MQTT_PASSWORD!;
    const fileBefore = readFileSync(broker.passwordFile, 'utf8');

    const again = await device(['add', 'cli-dev-2']);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/already has credentials.*--rotate/);
    expect(again.stdout).toBe('');
    expect(readFileSync(broker.passwordFile, 'utf8')).toBe(fileBefore);

    const session = await connectAsync(broker.url, {
      username: 'cli-dev-2',
      password: oldPassword,
      reconnectPeriod: 0,
    });
    const cut = new Promise<void>((resolve) => session.once('close', () => resolve()));
    const rotated = await device(['add', 'cli-dev-2', '--rotate']);
    expect(rotated.code, rotated.stderr).toBe(0);
    const newPassword = rotated.vars.MQTT_PASSWORD!;
    expect(newPassword).not.toBe(oldPassword);
    await cut; // the broker drops the session of the old credentials at the reload
    await session.endAsync(true);
    expect(await canConnect('cli-dev-2', oldPassword)).toBe(false);
    expect(await canConnect('cli-dev-2', newPassword)).toBe(true);
    expect(readFileSync(broker.passwordFile, 'utf8')).not.toContain(newPassword);
  });

  it('refuses service account names and ids that are not device ids, with usage and exit 2', async () => {
    for (const [args, why] of [
      [['add', 'receiver'], /reserved for a service account/],
      [['add', 'WebAdmin'], /reserved for a service account/],
      [['add', 'a/b'], /invalid device id/],
      [['add', '+'], /invalid device id/],
      [['add'], /add needs a device id/],
      [['rename', 'x'], /unknown command rename/],
    ] as const) {
      const run = await device([...args]);
      expect(run.code, `${args.join(' ')}: ${run.stderr}`).toBe(2);
      expect(run.stderr).toMatch(why);
      expect(run.stderr).toContain('usage: npm run device -- <command>');
    }
    // The built program, as `npm run device` runs it: same text, and the exit status is really 2.
    const r = spawnSync(process.execPath, [MAIN, 'add', 'receiver'], {
      env: { ...process.env, ...env },
      encoding: 'utf8',
    });
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/reserved for a service account[\s\S]*usage: npm run device -- <command>/);
    expect(readFileSync(broker.passwordFile, 'utf8')).not.toMatch(/^(receiver|WebAdmin|a\/b|\+):/m);
  });

  it('names a missing MOSQUITTO_PASSWORD_FILE and exits 1', async () => {
    const run = await device(['list'], { DATABASE_URL: databaseUrl });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/MOSQUITTO_PASSWORD_FILE: is required but not set/);
  });

  it('says what it skipped without DATABASE_URL and without a broker pid', async () => {
    const run = await device(['add', 'cli-dev-3'], {
      MOSQUITTO_PASSWORD_FILE: broker.passwordFile,
      PUBLIC_MQTT_URL: broker.url,
    });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/database: DATABASE_URL is not set, registration skipped/);
    expect(run.stderr).toMatch(/broker: NOT reloaded, no pid known/);
    expect(await deviceRow('cli-dev-3')).toBeUndefined();
    // The change counts once somebody reloads the broker.
    const before = broker.reloads();
    process.kill(broker.server.pid!, 'SIGHUP');
    await broker.waitForReload(before);
    expect(await canConnect('cli-dev-3', run.vars.MQTT_PASSWORD)).toBe(true);
  });

  it('keeps every account when several adds run at once (lock + atomic replace)', async () => {
    const ids = Array.from({ length: 6 }, (_, i) => `cli-par-${i}`);
    // Separate processes started together, like people running the command at the same time.
    const runs = await Promise.all(
      ids.map(
        (id) =>
          new Promise<{ id: string; code: number; stdout: string; stderr: string }>((resolve) => {
            execFile(
              process.execPath,
              [MAIN, 'add', id],
              { env: { ...process.env, ...env, DATABASE_URL: '' }, encoding: 'utf8' },
              (err, stdout, stderr) => resolve({ id, code: err ? Number(err.code ?? 1) : 0, stdout, stderr }),
            );
          }),
      ),
    );
    for (const r of runs) expect(r.code, r.stderr).toBe(0);
    const lines = readFileSync(broker.passwordFile, 'utf8').trim().split('\n');
    for (const id of ids) expect(lines.filter((l) => l.startsWith(`${id}:$7$`))).toHaveLength(1);
    for (const line of lines)
      expect(line).toMatch(/^[A-Za-z0-9_.-]+:\$7\$101\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
    const before = broker.reloads();
    process.kill(broker.server.pid!, 'SIGHUP');
    await broker.waitForReload(before);
    for (const r of runs) {
      const password = /^MQTT_PASSWORD=(.*)$/m.exec(r.stdout)?.[1];
      expect(await canConnect(r.id, password)).toBe(true);
    }
  });
});

describe('npm run device -- remove', () => {
  it('revokes the credentials at the reload and clears mqtt_username in the database', async () => {
    const added = await device(['add', 'cli-dev-4']);
    const password = added.vars.MQTT_PASSWORD!;
    expect(await canConnect('cli-dev-4', password)).toBe(true);

    const removed = await device(['remove', 'cli-dev-4']);
    expect(removed.code, removed.stderr).toBe(0);
    expect(removed.stderr).toMatch(/broker: reloaded/);
    expect(await canConnect('cli-dev-4', password)).toBe(false);
    expect(readFileSync(broker.passwordFile, 'utf8')).not.toMatch(/^cli-dev-4:/m);
    expect((await deviceRow('cli-dev-4'))?.mqtt_username).toBeNull();

    const unknown = await device(['remove', 'cli-never-added']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/no such device: cli-never-added/);
  });
});

describe('npm run device -- service', () => {
  it('creates the receiver account, which reads device telemetry through the shared subscription', async () => {
    const service = await device(['service', 'receiver']);
    expect(service.code, service.stderr).toBe(0);
    expect(service.vars).toMatchObject({ MQTT_USERNAME: 'receiver' });
    expect(service.vars.DEVICE_ID).toBeUndefined();
    const dev = await device(['add', 'cli-dev-5']);

    const receiver = await connectAsync(broker.url, {
      username: 'receiver',
      password: service.vars.MQTT_PASSWORD,
      reconnectPeriod: 0,
    });
    const deviceClient = await connectAsync(broker.url, {
      username: 'cli-dev-5',
      password: dev.vars.MQTT_PASSWORD,
      reconnectPeriod: 0,
    });
    try {
      const got = new Promise<string>((resolve) => receiver.on('message', (topic) => resolve(topic)));
      await receiver.subscribeAsync(topicFilters.sharedTelemetry('receivers'), { qos: 1 });
      await deviceClient.publishAsync(topics.telemetry('cli-dev-5'), '{"v":1,"readings":[]}', { qos: 1 });
      expect(await got).toBe(topics.telemetry('cli-dev-5'));
    } finally {
      await Promise.all([receiver.endAsync(), deviceClient.endAsync()]);
    }
  });
});

describe('npm run device -- list', () => {
  it('shows password-file accounts next to database devices', async () => {
    await db.query(`INSERT INTO ${devicesTable()} (id) VALUES ('cli-seen-only')`);
    const run = await device(['list']);
    expect(run.code, run.stderr).toBe(0);
    const line = (id: string) => run.stdout.split('\n').find((l) => l.startsWith(`${id} `)) ?? '';
    expect(run.stdout.split('\n')[0]).toMatch(/^ID\s+PASSWORD FILE\s+DB USERNAME/);
    expect(line('cli-dev-1')).toMatch(/^cli-dev-1\s+yes\s+cli-dev-1\s+\d{4}-/);
    expect(line('cli-dev-3')).toMatch(/not registered in the database/);
    expect(line('cli-dev-4')).toMatch(/^cli-dev-4\s+no\s+—.*no credentials/);
    expect(line('cli-seen-only')).toMatch(/no credentials \(cannot connect\)/);
    expect(line('receiver')).toMatch(/service account/);
  });
});
