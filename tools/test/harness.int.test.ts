import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Redis } from 'ioredis';
import * as mariadb from 'mariadb';
import { connectAsync, type IClientOptions } from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import {
  DEVICE_REDIS_CONF,
  freePort,
  harnessRoot,
  MariaDbServer,
  MosquittoServer,
  RedisServer,
  ServerStartError,
  type ManagedServer,
} from '@sensorfleet/tools/harness';

const started: ManagedServer[] = [];
function track<T extends ManagedServer>(server: T): T {
  started.push(server);
  return server;
}

afterAll(async () => {
  await Promise.all(started.map((s) => s.destroy()));
});

function processGone(pid: number): boolean {
  for (const target of [pid, -pid]) {
    try {
      process.kill(target, 0);
      return false;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') return false;
    }
  }
  return true;
}

function recordedPids(): string[] {
  return readdirSync(path.join(harnessRoot(), 'pids'));
}

/** Subscribe, publish one message, receive it back. */
async function mqttRoundTrip(url: string, opts: IClientOptions = {}): Promise<string> {
  const client = await connectAsync(url, { reconnectPeriod: 0, connectTimeout: 5000, ...opts });
  try {
    const topic = `harness/test/${Math.random().toString(16).slice(2)}`;
    const received = new Promise<string>((resolve) => {
      client.on('message', (t, payload) => {
        if (t === topic) resolve(payload.toString());
      });
    });
    await client.subscribeAsync(topic, { qos: 1 });
    await client.publishAsync(topic, 'hello', { qos: 1 });
    return await received;
  } finally {
    await client.endAsync();
  }
}

describe('RedisServer', () => {
  it('keeps data written with appendfsync always across kill -9 (AOF)', async () => {
    const redis = track(await RedisServer.start({ appendfsync: 'always' }));
    expect(redis.url).toBe(`redis://127.0.0.1:${redis.port}`);
    expect(redis.running).toBe(true);

    const client = new Redis(redis.url, { maxRetriesPerRequest: 1 });
    expect(await client.config('GET', 'appendonly')).toEqual(['appendonly', 'yes']);
    expect(await client.config('GET', 'appendfsync')).toEqual(['appendfsync', 'always']);
    expect(await client.config('GET', 'save')).toEqual(['save', '']);
    expect(await client.config('GET', 'maxmemory-policy')).toEqual(['maxmemory-policy', 'noeviction']);
    expect(await client.config('GET', 'dir')).toEqual(['dir', redis.dir]);
    expect(await client.config('GET', 'bind')).toEqual(['bind', '127.0.0.1']);
    // only the shipped device/redis/redis.conf sets these: it is what runs
    expect(await client.config('GET', 'auto-aof-rewrite-percentage')).toEqual([
      'auto-aof-rewrite-percentage',
      '300',
    ]);
    expect(await client.config('GET', 'slowlog-log-slower-than')).toEqual([
      'slowlog-log-slower-than',
      '10000',
    ]);
    expect((await client.info('server')).match(/^config_file:(.*)$/m)?.[1]?.trim()).toBe(DEVICE_REDIS_CONF);
    await client.set('harness:key', 'survives');
    client.disconnect();

    const pid = redis.pid!;
    const port = redis.port;
    await redis.kill();
    expect(redis.running).toBe(false);
    expect(redis.pid).toBeUndefined();
    expect(processGone(pid)).toBe(true);

    await redis.start();
    expect(redis.port).toBe(port);
    expect(redis.pid).not.toBe(pid);
    const again = new Redis(redis.url, { maxRetriesPerRequest: 1 });
    try {
      expect(await again.get('harness:key')).toBe('survives');
    } finally {
      again.disconnect();
    }
    expect(existsSync(path.join(redis.dir, 'appendonlydir'))).toBe(true);
  });

  it('reports a taken port with the command line and log tail when the port was requested', async () => {
    const blocker = net.createServer();
    const port = await freePort();
    await new Promise<void>((resolve) => blocker.listen(port, '127.0.0.1', resolve));
    try {
      const error = await RedisServer.start({ port }).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(error).toBeInstanceOf(ServerStartError);
      const startError = error as ServerStartError;
      expect(startError.addressInUse).toBe(true);
      expect(startError.message).toContain(`--port ${port}`);
      expect(startError.message).toMatch(/address already in use/i);
    } finally {
      blocker.close();
    }
  });
});

describe('MosquittoServer', () => {
  it('round-trips a message, and again after stop/start and restart on the same port', async () => {
    const broker = track(await MosquittoServer.start());
    expect(broker.url).toBe(`mqtt://127.0.0.1:${broker.port}`);
    expect(await mqttRoundTrip(broker.url)).toBe('hello');

    const port = broker.port;
    await broker.stop();
    expect(broker.running).toBe(false);
    await expect(mqttRoundTrip(broker.url)).rejects.toThrow();

    await broker.start();
    expect(broker.port).toBe(port);
    expect(await mqttRoundTrip(broker.url)).toBe('hello');

    await broker.restart();
    expect(await mqttRoundTrip(broker.url)).toBe('hello');
    expect(readFileSync(broker.logFile, 'utf8')).toMatch(/mosquitto version \S+ running/);
  });

  it('refuses anonymous clients with allowAnonymous false and a password_file', async () => {
    const secrets = mkdtempSync(path.join(harnessRoot(), 'mqtt-secrets-'));
    const passwordFile = path.join(secrets, 'passwd');
    execFileSync('mosquitto_passwd', ['-b', '-c', passwordFile, 'device-1', 's3cret']);
    const broker = track(
      await MosquittoServer.start({ allowAnonymous: false, extraConfig: `password_file ${passwordFile}` }),
    );
    await expect(mqttRoundTrip(broker.url)).rejects.toThrow(/not authorized|bad user name or password/i);
    await expect(mqttRoundTrip(broker.url, { username: 'device-1', password: 'wrong' })).rejects.toThrow();
    expect(await mqttRoundTrip(broker.url, { username: 'device-1', password: 's3cret' })).toBe('hello');
  });
});

describe('MariaDbServer', () => {
  it('keeps committed rows across restart and kill -9', async () => {
    const db = track(await MariaDbServer.start());
    expect(db.rootUrl).toBe(`mariadb://root@127.0.0.1:${db.port}/`);
    const url = await db.createDatabase();
    const name = new URL(url).pathname.slice(1);
    expect(url).toBe(db.databaseUrl(name));

    // The DATABASE_URL works as-is for a client (root over TCP, empty password).
    const conn = await mariadb.createConnection(url);
    try {
      await conn.query('CREATE TABLE readings (id INT PRIMARY KEY, value DOUBLE NOT NULL, note VARCHAR(20))');
      await conn.query('INSERT INTO readings VALUES (1, 21.5, ?)', ['°C ✓']);
    } finally {
      await conn.end();
    }

    await db.restart();
    expect(await db.query(`SELECT id, value, note FROM \`${name}\`.readings`)).toEqual([
      { id: 1, value: 21.5, note: '°C ✓' },
    ]);

    await db.query(`INSERT INTO \`${name}\`.readings VALUES (2, 22.5, NULL)`);
    const pid = db.pid!;
    await db.kill();
    expect(processGone(pid)).toBe(true);
    await db.start();
    expect(await db.query(`SELECT COUNT(*) AS n FROM \`${name}\`.readings`)).toEqual([{ n: 2n }]);
  });

  it('runs two instances at once on different ports with separate data', async () => {
    const [a, b] = await Promise.all([MariaDbServer.start(), MariaDbServer.start()]);
    track(a);
    track(b);
    expect(a.port).not.toBe(b.port);
    expect(a.dir).not.toBe(b.dir);
    const [pa] = (await a.query('SELECT @@port AS port')) as { port: number }[];
    const [pb] = (await b.query('SELECT @@port AS port')) as { port: number }[];
    expect(Number(pa?.port)).toBe(a.port);
    expect(Number(pb?.port)).toBe(b.port);
    await a.createDatabase('only_in_a');
    const inB = (await b.query("SHOW DATABASES LIKE 'only_in_a'")) as unknown[];
    expect(inB).toHaveLength(0);
    // root@127.0.0.1 has every privilege, with grant option.
    const grants = (await a.query('SHOW GRANTS')) as Record<string, string>[];
    expect(Object.values(grants[0] ?? {})[0]).toMatch(
      /GRANT ALL PRIVILEGES ON \*\.\* TO `root`@`127\.0\.0\.1`.*WITH GRANT OPTION/,
    );
  });
});

describe('cleanup', () => {
  it('kill() leaves no process behind and forgets its pid', async () => {
    const servers = await Promise.all([RedisServer.start(), MosquittoServer.start(), MariaDbServer.start()]);
    servers.forEach(track);
    const pids = servers.map((s) => s.pid!);
    for (const pid of pids) expect(recordedPids()).toContain(`${pid}.json`);
    await Promise.all(servers.map((s) => s.kill()));
    for (const pid of pids) {
      expect(processGone(pid)).toBe(true);
      expect(recordedPids()).not.toContain(`${pid}.json`);
    }
  });

  it('keeps a dir that was given explicitly', async () => {
    const dir = path.join(mkdtempSync(path.join(harnessRoot(), 'explicit-')), 'redis-data');
    const redis = track(await RedisServer.start({ dir }));
    expect(redis.dir).toBe(dir);
    await redis.destroy();
    expect(existsSync(dir)).toBe(true);
  });
});
