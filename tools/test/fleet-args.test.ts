import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { deviceEnvBlock } from '@sensorfleet/mqttserver/provisioning/env-block';
import { CredentialsError, parseCredentials } from '../src/fleet/credentials.js';
import { FleetUsageError, parseFleetArgs } from '../src/fleet/fleet-args.js';
import { formatFleetStatus } from '../src/fleet/fleet-status.js';
import { REPO_ROOT } from '../src/harness/repo-root.js';

describe('npm run fleet arguments', () => {
  it('takes the documented flags, with defaults', () => {
    expect(
      parseFleetArgs([
        '--devices',
        '1000',
        '--rate',
        '1',
        '--url',
        'mqtts://h:8883',
        '--credentials',
        'f.json',
      ]),
    ).toMatchObject({ devices: 1000, rate: 1, url: 'mqtts://h:8883', credentials: 'f.json', prefix: 'sim-' });
    expect(parseFleetArgs(['--url=mqtt://127.0.0.1:1884', '--rate=0.5', '--prefix', 'x-'])).toMatchObject({
      devices: undefined,
      rate: 0.5,
      prefix: 'x-',
      redis: undefined,
      batchWaitMs: undefined,
    });
    expect(parseFleetArgs(['--url', 'mqtt://h', '--batch-wait', '200'])).toMatchObject({ batchWaitMs: 200 });
  });

  it.each([
    [[], '--url is required'],
    [['--url', 'http://h'], '--url must use'],
    [['--url', 'nonsense'], '--url must be a URL'],
    [['--url', 'mqtt://h', '--devices', '0'], '--devices must be an integer'],
    [['--url', 'mqtt://h', '--devices', '2.5'], '--devices must be an integer'],
    [['--url', 'mqtt://h', '--rate', 'fast'], '--rate must be a number'],
    [['--url', 'mqtt://h', '--rate', '1000'], '--rate must be a number from 0.01 to 100'],
    [['--url', 'mqtt://h', '--batch-wait', '0'], '--batch-wait must be an integer from 1 to 60000'],
    [['--url', 'mqtt://h', '--redis', 'localhost'], '--redis must be a URL'],
    [['--url', 'mqtt://h', '--ca', 'ca.crt'], '--ca only applies'],
    [['--url', 'mqtt://h', '--credentials'], '--credentials needs a value'],
    [['--url', 'mqtt://h', '--frobnicate', '1'], 'unknown argument --frobnicate'],
    [['--url', 'mqtt://h', '--url', 'mqtt://g'], '--url given twice'],
  ])('%j → %s', (argv, message) => {
    expect(() => parseFleetArgs(argv)).toThrow(FleetUsageError);
    expect(() => parseFleetArgs(argv)).toThrow(message);
  });

  it('the CLI exits 2 naming the flag', () => {
    const run = spawnSync(
      process.execPath,
      [path.join(REPO_ROOT, 'tools/dist/fleet/main.js'), '--url', 'mqtt://127.0.0.1:1', '--rate', '0'],
      {
        encoding: 'utf8',
      },
    );
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('--rate must be a number');
    const missing = spawnSync(
      process.execPath,
      [
        path.join(REPO_ROOT, 'tools/dist/fleet/main.js'),
        '--url',
        'mqtt://127.0.0.1:1',
        '--credentials',
        '/nonexistent.json',
      ],
      { encoding: 'utf8' },
    );
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain('--credentials /nonexistent.json');
  });
});

describe('fleet credentials files', () => {
  it('reads what `npm run device -- add` prints, several blocks pasted one after the other', () => {
    const text = [
      deviceEnvBlock({ deviceId: 'pi-1', password: 'p1', mqttUrl: 'mqtts://b:8883' }),
      deviceEnvBlock({ deviceId: 'pi-2', password: 'p=2', mqttUrl: undefined }),
    ].join('\n\n');
    expect(parseCredentials(text, 'devices.txt')).toEqual([
      { id: 'pi-1', username: 'pi-1', password: 'p1' },
      { id: 'pi-2', username: 'pi-2', password: 'p=2' },
    ]);
  });

  it('reads JSON and CSV; username defaults to the id', () => {
    expect(parseCredentials('[{"id":"a","password":"x"},{"id":"b","username":"bb","password":"y"}]')).toEqual(
      [
        { id: 'a', username: 'a', password: 'x' },
        { id: 'b', username: 'bb', password: 'y' },
      ],
    );
    expect(parseCredentials('{"devices":[{"id":"a","password":"x"}]}')).toHaveLength(1);
    expect(parseCredentials('id,username,password\na,a,"x,1"\nb,,y\n', 'f.csv')).toEqual([
      { id: 'a', username: 'a', password: 'x,1' },
      { id: 'b', username: 'b', password: 'y' },
    ]);
  });

  it.each([
    ['[{"id":"a"}]', 'entry 1: password is missing'],
    ['[{"id":"a b","password":"x"}]', 'entry 1: invalid device id'],
    ['[{"id":"a","password":"x"},{"id":"a","password":"y"}]', 'device a appears twice'],
    ['{"x":1}', 'JSON must be an array'],
    ['[oops', 'not valid JSON'],
    ['name,secret\na,b', 'CSV header must name an id column'],
    ['id,username\na,b', 'CSV header must name a password column'],
  ])('%s → %s', (text, message) => {
    expect(() => parseCredentials(text)).toThrow(CredentialsError);
    expect(() => parseCredentials(text)).toThrow(message);
  });
});

it('the status line says what is connected, sent, acked and waiting, and the rates', () => {
  const base = {
    devices: 10,
    connected: 9,
    measured: 100,
    sent: 95,
    acked: 90,
    backlog: 10,
    appendErrors: 0,
  };
  expect(formatFleetStatus({ ...base, measured: 200, acked: 180 }, base, 10_000)).toBe(
    'connected 9/10  measured 200  sent 95  acked 180  backlog 10  rate 9.0/s acked, 10/s measured',
  );
});
