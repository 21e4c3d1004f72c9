import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { envTable, topics } from '@sensorfleet/shared';
import { accountRows, formatAccountTable } from '../src/provisioning/account-table.js';
import { aclWarnings, parseAcl } from '../src/provisioning/acl-check.js';
import { reloadBroker } from '../src/provisioning/broker-reload.js';
import { runCli } from '../src/provisioning/cli.js';
import { parseArgs, UsageError } from '../src/provisioning/cli-args.js';
import {
  addDevice,
  removeDevice,
  type AccountStore,
  type ProvisioningDeps,
} from '../src/provisioning/commands.js';
import { provisioningEnv } from '../src/provisioning/config.js';
import { deviceIdProblem, generatePassword } from '../src/provisioning/credentials.js';
import type { DeviceRegistryPort, RegisteredDevice } from '../src/provisioning/device-registry.js';
import { withFileLock } from '../src/provisioning/file-lock.js';
import { AccountExistsError, passwordFileUsers } from '../src/provisioning/password-file.js';

/** This package's folder: the shipped ACL and the README sit next to src/. */
const BROKER_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BROKER_ACL_FILE = path.join(BROKER_DIR, 'acl');

const tmp = mkdtempSync(path.join(os.tmpdir(), 'provisioning-test-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('command line', () => {
  it('reads add, remove, list and service with their options', () => {
    expect(parseArgs(['add', 'sensor-01'])).toEqual({
      command: { kind: 'add', id: 'sensor-01', rotate: false },
    });
    expect(
      parseArgs(['add', 'sensor-01', '--rotate', '--pid', '42', '--mqtt-url=mqtts://b.example:8883']),
    ).toEqual({
      command: { kind: 'add', id: 'sensor-01', rotate: true },
      pid: 42,
      mqttUrl: 'mqtts://b.example:8883',
    });
    expect(parseArgs(['remove', 'sensor-01']).command).toEqual({ kind: 'remove', id: 'sensor-01' });
    expect(parseArgs(['list']).command).toEqual({ kind: 'list' });
    expect(parseArgs(['service', 'webadmin']).command).toEqual({ kind: 'service', account: 'webadmin' });
    expect(parseArgs(['--help']).command).toEqual({ kind: 'help' });
  });

  it.each([
    [[], /no command given/],
    [['add'], /add needs a device id/],
    [['add', 'receiver'], /reserved for a service account/],
    [['add', 'Receiver'], /reserved for a service account/],
    [['add', 'a/b'], /invalid device id/],
    [['add', '-x'], /unknown option -x/],
    [['add', 'x'.repeat(65)], /invalid device id/],
    [['add', 'a', 'b'], /unexpected argument b/],
    [['remove', 'sensor-01', '--rotate'], /--rotate only goes with add/],
    [['service', 'root'], /service needs one of receiver, webadmin, monitor/],
    [['list', '--pid', 'abc'], /--pid must be a process id/],
    [['list', '--mqtt-url', 'http://x'], /--mqtt-url must use mqtt:/],
    [['list', '--mqtt-url'], /--mqtt-url needs a value/],
  ])('refuses %j', (argv, why) => {
    expect(() => parseArgs(argv)).toThrow(UsageError);
    expect(() => parseArgs(argv)).toThrow(why);
  });
});

describe('cli', () => {
  async function run(argv: string[], environment: NodeJS.ProcessEnv) {
    let stdout = '';
    let stderr = '';
    const code = await runCli(argv, environment, {
      stdout: (t) => (stdout += t),
      stderr: (t) => (stderr += t),
    });
    return { code, stdout, stderr };
  }

  it('notices an option npm kept for itself (no `--`) before touching anything', async () => {
    const r = await run(['add', 'sensor-01'], {
      npm_config_rotate: 'true',
      MOSQUITTO_PASSWORD_FILE: '/nonexistent/x',
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/npm kept --rotate for itself: put `--` before the arguments/);
  });

  it('prints usage on stdout for --help, without needing any environment', async () => {
    const r = await run(['--help'], {});
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^usage: npm run device -- <command>/);
  });

  it('names the bad variable', async () => {
    const r = await run(['list'], { MOSQUITTO_PASSWORD_FILE: '/x', DATABASE_URL: 'postgres://x' });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/DATABASE_URL: must use mariadb: or mysql:/);
  });

  it('runs on what ships with the broker: nothing from the test harness or the dev tools', () => {
    const src = path.join(BROKER_DIR, 'src');
    const imports = readdirSync(src, { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.ts'))
      .flatMap((f) =>
        [...readFileSync(path.join(src, f), 'utf8').matchAll(/from '([^']+)'/g)].map((m) => m[1]),
      );
    expect(imports.filter((i) => /tools|harness|vitest/.test(i ?? ''))).toEqual([]);
    const pkg = JSON.parse(readFileSync(path.join(BROKER_DIR, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    expect(Object.keys(pkg.dependencies)).not.toContain('@sensorfleet/tools');
  });

  it('is documented with its real environment table', () => {
    const readme = readFileSync(path.join(BROKER_DIR, 'README.md'), 'utf8');
    expect(readme).toContain(envTable(provisioningEnv));
  });
});

describe('credentials', () => {
  it('accepts device ids of the topic contract and nothing that could be a service account', () => {
    for (const id of ['sensor-01', 'a', 'A.b_c-9', '0123456789abcdef0123456789abcdef'])
      expect(deviceIdProblem(id)).toBeUndefined();
    for (const id of [
      'receiver',
      'webadmin',
      'WEBADMIN',
      'monitor',
      '',
      '-a',
      'a b',
      'a+',
      'a#',
      'a/b',
      'a:b',
    ])
      expect(deviceIdProblem(id)).toBeDefined();
  });

  it('makes long, random, paste-safe passwords', () => {
    const passwords = Array.from({ length: 100 }, generatePassword);
    for (const p of passwords) expect(p).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(new Set(passwords).size).toBe(100);
  });

  it('reads the user names of a password file', () => {
    expect(passwordFileUsers('a:$7$101$x$y\n\n# comment\nreceiver:$7$101$s$h\n')).toEqual(['a', 'receiver']);
  });
});

describe('the shipped ACL', () => {
  const acl = parseAcl(readFileSync(BROKER_ACL_FILE, 'utf8'));
  const device = '%u';

  it('lets a device write exactly its device → backend topics and read exactly its backend → device ones', () => {
    const writes = [
      topics.telemetry(device),
      topics.state(device),
      topics.online(device),
      topics.commandResult(device),
      topics.compatData(device),
      topics.compatStatus(device),
      topics.compatHeartbeat(device),
    ];
    const reads = [topics.ack(device), topics.commands(device), topics.receiverOnline('+')];
    expect(acl.patterns.sort()).toEqual(
      [...writes.map((t) => `write ${t}`), ...reads.map((t) => `read ${t}`)].sort(),
    );
    // Every topic of the contract is covered one way or the other.
    expect(
      Object.entries(topics)
        .map(([kind, t]) => t(kind === 'receiverOnline' ? '+' : device))
        .sort(),
    ).toEqual([...writes, ...reads].sort());
  });

  it('gives the receiver telemetry, presence, state and results to read and acks to write', () => {
    expect(acl.users.get('receiver')?.sort()).toEqual(
      [
        'read devices/+/telemetry',
        'read devices/+/online',
        'read devices/+/state',
        'read devices/+/data',
        'read devices/+/status',
        'read devices/+/heartbeat',
        'read devices/+/commands/result',
        'write devices/+/ack',
        'write receivers/+/online',
      ].sort(),
    );
  });

  it('gives the web admin everything to read and commands to write', () => {
    expect(acl.users.get('webadmin')?.sort()).toEqual(['read devices/#', 'write devices/+/commands']);
  });

  it('has no rules for anonymous clients', () => {
    const lines = readFileSync(BROKER_ACL_FILE, 'utf8').split('\n');
    const firstUser = lines.findIndex((l) => l.startsWith('user '));
    expect(lines.slice(0, firstUser).filter((l) => l.startsWith('topic '))).toEqual([]);
    expect([...acl.users.keys()].sort()).toEqual(['monitor', 'receiver', 'webadmin']);
  });

  it('passes the CLI check for devices and both services; an empty ACL does not', () => {
    expect(aclWarnings(acl, {})).toEqual([]);
    expect(aclWarnings(acl, { service: 'receiver' })).toEqual([]);
    expect(aclWarnings(acl, { service: 'webadmin' })).toEqual([]);
    const empty = parseAcl('');
    expect(aclWarnings(empty, {})[0]).toMatch(/pattern write devices\/%u\/telemetry/);
    expect(aclWarnings(empty, { service: 'receiver' })[0]).toMatch(/no `user receiver` section/);
  });
});

describe('account table', () => {
  const dev = (id: string, mqttUsername: string | null): RegisteredDevice => ({
    id,
    mqttUsername,
    credentialsCreatedAt: new Date('2026-01-02T03:04:05.678Z'),
    lastSeen: null,
    online: false,
  });

  it('puts password file and database side by side and names every mismatch', () => {
    const rows = accountRows(
      ['receiver', 'ok', 'unregistered', 'cleared'],
      [dev('ok', 'ok'), dev('cleared', null), dev('gone', 'gone'), dev('never', null)],
    );
    expect(Object.fromEntries(rows.map((r) => [r.id, r.note]))).toEqual({
      cleared: 'database lists no credentials',
      gone: 'database lists credentials the broker lacks',
      never: 'no credentials (cannot connect)',
      ok: '',
      receiver: 'service account',
      unregistered: 'not registered in the database',
    });
    const table = formatAccountTable(rows, true).split('\n');
    expect(table[0]).toMatch(
      /^ID\s+PASSWORD FILE\s+DB USERNAME\s+CREDENTIALS CREATED\s+LAST SEEN\s+ONLINE\s+NOTE$/,
    );
    expect(table.find((l) => l.startsWith('ok '))).toMatch(/^ok\s+yes\s+ok\s+2026-01-02T03:04:05Z\s+—\s+no$/);
  });
});

/** In-memory collaborators: the commands' decisions without files, processes or a database. */
function fakeDeps(over: Partial<ProvisioningDeps> = {}) {
  const users = new Map<string, string>();
  const accounts: AccountStore = {
    file: '/test/passwd',
    users: async () => [...users.keys()],
    set: async (user, password, opts) => {
      const created = !users.has(user);
      if (!created && opts.mustBeNew) throw new AccountExistsError(user, '/test/passwd');
      users.set(user, password);
      return { created };
    },
    remove: async (user) => users.delete(user),
  };
  const out: string[] = [];
  const notes: string[] = [];
  const deps: ProvisioningDeps = {
    accounts,
    reload: () => ({ kind: 'no-pid' }),
    registry: undefined,
    acl: undefined,
    mqttUrl: 'mqtts://broker.example:8883',
    newPassword: () => `password-${users.size + 1}-xxxxxxxxxxxxxxxxxxxxxxxx`,
    now: () => new Date('2026-01-01T00:00:00Z'),
    out: (t) => out.push(t),
    note: (t) => notes.push(t),
    ...over,
  };
  return { deps, users, out, notes };
}

function failingRegistry(): DeviceRegistryPort {
  const fail = () => Promise.reject(new Error('connection refused'));
  return { registerCredentials: fail, revokeCredentials: fail, list: fail, close: async () => {} };
}

describe('provisioning commands', () => {
  it('prints the balena variables of a new device and says what it skipped', async () => {
    const { deps, users, out, notes } = fakeDeps();
    expect(await addDevice(deps, 'sensor-01', false)).toBe(0);
    expect(
      out
        .join('\n')
        .split('\n')
        .filter((l) => !l.startsWith('#')),
    ).toEqual([
      'MQTT_URL=mqtts://broker.example:8883',
      'MQTT_USERNAME=sensor-01',
      `MQTT_PASSWORD=${users.get('sensor-01')}`,
      'DEVICE_ID=sensor-01',
    ]);
    expect(out.join('\n')).toMatch(/MQTT_CA_FILE/); // mqtts: the device needs the CA
    expect(notes.join('\n')).toMatch(/broker: NOT reloaded, no pid known/);
    expect(notes.join('\n')).toMatch(/DATABASE_URL is not set, registration skipped/);
  });

  it('refuses an existing device without --rotate and changes nothing', async () => {
    const { deps, users, out, notes } = fakeDeps();
    await addDevice(deps, 'sensor-01', false);
    const before = users.get('sensor-01');
    out.length = 0;
    expect(await addDevice(deps, 'sensor-01', false)).toBe(1);
    expect(users.get('sensor-01')).toBe(before);
    expect(out).toEqual([]);
    expect(notes.at(-1)).toMatch(/already has credentials.*add sensor-01 --rotate/);
    expect(await addDevice(deps, 'sensor-01', true)).toBe(0);
    expect(users.get('sensor-01')).not.toBe(before);
  });

  it('still prints the only copy of the password when the database or the reload fails', async () => {
    const { deps, users, out, notes } = fakeDeps({
      registry: failingRegistry(),
      reload: () => ({ kind: 'failed', reason: 'no process 4242' }),
    });
    expect(await addDevice(deps, 'sensor-02', false)).toBe(1);
    expect(out.join('\n')).toContain(`MQTT_PASSWORD=${users.get('sensor-02')}`);
    expect(notes.join('\n')).toMatch(/broker: NOT reloaded: no process 4242/);
    expect(notes.join('\n')).toMatch(/database: NOT registered: connection refused/);
  });

  it('says so when removing a device that exists nowhere', async () => {
    const { deps, notes } = fakeDeps();
    expect(await removeDevice(deps, 'nobody')).toBe(1);
    expect(notes.at(-1)).toBe('no such device: nobody');
  });
});

describe('file lock', () => {
  it('runs holders one after the other', async () => {
    const lock = path.join(tmp, 'serial.lock');
    const events: string[] = [];
    await Promise.all(
      [1, 2, 3].map((n) =>
        withFileLock(lock, async () => {
          events.push(`in ${n}`);
          await new Promise((resolve) => setTimeout(resolve, 30));
          events.push(`out ${n}`);
        }),
      ),
    );
    for (let i = 0; i < events.length; i += 2) expect(events[i + 1]).toBe(events[i]!.replace('in', 'out'));
  });

  it('takes over the lock of a process that died, and waits for a live one', async () => {
    const lock = path.join(tmp, 'stale.lock');
    writeFileSync(lock, JSON.stringify({ pid: 2 ** 22 + 12345, host: os.hostname(), since: 'then' }));
    expect(await withFileLock(lock, async () => 'ran')).toBe('ran');

    writeFileSync(lock, JSON.stringify({ pid: process.pid, host: os.hostname(), since: 'now' }));
    await expect(withFileLock(lock, async () => 'ran', { timeoutMs: 200 })).rejects.toThrow(
      new RegExp(`held by pid ${process.pid}`),
    );
  });
});

describe('broker reload', () => {
  it('never signals a process that is not mosquitto (a stale pid file)', () => {
    const pidFile = path.join(tmp, 'stale.pid');
    writeFileSync(pidFile, `${process.pid}\n`); // this test process: SIGHUP would end it
    const outcome = reloadBroker({ pidFile });
    expect(outcome.kind).toBe('failed');
    if (outcome.kind === 'failed') expect(outcome.reason).toMatch(/not mosquitto: not signalled/);
  });

  it('says when no pid is known or the pid file is unusable', () => {
    expect(reloadBroker({})).toEqual({ kind: 'no-pid' });
    const pidFile = path.join(tmp, 'garbage.pid');
    writeFileSync(pidFile, 'hello');
    expect(reloadBroker({ pidFile })).toEqual({
      kind: 'failed',
      reason: expect.stringMatching(/holds no pid/),
    });
    expect(reloadBroker({ pidFile: path.join(tmp, 'missing.pid') })).toEqual({
      kind: 'failed',
      reason: expect.stringMatching(/cannot read pid file/),
    });
  });
});
