import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deviceKeys, MeasuringStateStore } from '@sensorfleet/shared';
import {
  MariaDbServer,
  MosquittoServer,
  NetworkNamespace,
  NodeService,
  RedisServer,
  SecuredBroker,
  shippedBrokerLimits,
  sweepStaleNamespaces,
  sleep,
  waitFor,
} from '@sensorfleet/tools/harness';

/**
 * Drill 6's building block: the device (its Redis, sensor and mqtthandler) in a network namespace, the
 * backend (broker, receiver, MariaDB) outside; the link between them cut silently (frames dropped, as on a
 * dead Wi-Fi) while the device keeps measuring into its outbox, then healed. Every seq must be stored
 * exactly once; the recovery time (heal → everything measured until then stored) is measured and logged.
 */
const PARTITION_MS = 20_000;
const KEEPALIVE_S = 5;
const log = process.env.TEST_LOG_LEVEL === 'debug' ? (line: string) => console.log(line) : undefined;

/** Connects to `host:port`; resolves 'connected', or 'timeout' when nothing answers within `ms`. */
function tryConnect(host: string, port: number, ms: number): Promise<'connected' | 'timeout' | string> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve('timeout');
    }, ms);
    socket.on('connect', () => {
      clearTimeout(timer);
      socket.destroy();
      resolve('connected');
    });
    socket.on('error', (err) => {
      clearTimeout(timer);
      resolve(err.message);
    });
  });
}

/** Times (ms since the epoch) of the service's pino log lines (ISO `time`) whose msg matches. */
function logTimes(service: NodeService, msg: RegExp): number[] {
  const times: number[] = [];
  for (const line of readFileSync(service.outputLog, 'utf8').split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const entry = JSON.parse(line) as { time?: string; msg?: string };
      const time = Date.parse(entry.time ?? '');
      if (Number.isFinite(time) && msg.test(entry.msg ?? '')) times.push(time);
    } catch {
      // not a log line
    }
  }
  return times;
}

describe('network partition between device and broker (network namespace)', () => {
  let ns: NetworkNamespace;
  const cleanup: (() => Promise<unknown>)[] = [];

  beforeAll(async () => {
    ns = await NetworkNamespace.create({ log });
    cleanup.push(() => ns.destroy());
  });
  afterAll(async () => {
    for (const step of cleanup.reverse()) await step().catch(() => undefined);
  });

  it('cuts TCP both ways without an error (connections hang) and heals', async () => {
    const server = net.createServer((s) => s.on('error', () => {}).pipe(s));
    await new Promise<void>((resolve) => server.listen(0, ns.hostAddress, resolve));
    cleanup.push(() => new Promise((resolve) => server.close(resolve)));
    const port = (server.address() as net.AddressInfo).port;
    const inside = (ms: number) =>
      ns.exec(process.execPath, [
        '-e',
        `const s=require('net').connect(${port},'${ns.hostAddress}');` +
          `const t=setTimeout(()=>{console.log('timeout');process.exit(0)},${ms});` +
          `s.on('connect',()=>{console.log('connected');process.exit(0)});` +
          `s.on('error',e=>{console.log(e.message);process.exit(0)})`,
      ]);
    expect((await inside(3000)).trim()).toBe('connected');
    // The host cannot reach the namespace's address without the pair either (nothing listens: refused).
    expect(await tryConnect(ns.nsAddress, 1, 3000)).toMatch(/ECONNREFUSED/);

    await ns.partition();
    expect(ns.partitioned).toBe(true);
    expect((await inside(2000)).trim()).toBe('timeout');
    expect(await tryConnect(ns.nsAddress, 1, 2000)).toBe('timeout');

    await ns.heal();
    expect((await inside(3000)).trim()).toBe('connected');
  });

  it('sweeps the namespaces of processes that are gone, never those of live ones', () => {
    // pid 2^22 + 1 is above Linux's pid_max limit: no process can have it.
    const stale = `sfh-${2 ** 22 + 1}-1-5eed00`;
    execFileSync('ip', ['netns', 'add', stale]);
    const list = () => execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
    expect(sweepStaleNamespaces()).toContain(stale);
    expect(list()).not.toContain(stale);
    expect(list()).toContain(ns.name);
  });

  it('lets a device inside reach the secured broker on its device listener at the host address', async () => {
    const broker = await SecuredBroker.start({ deviceAlsoOn: [ns.hostAddress], ...(log ? { log } : {}) });
    cleanup.push(() => broker.destroy());
    const password = await broker.setAccount('dev-inside');
    const url = new URL(broker.deviceUrlAt(ns.hostAddress));
    const publish = (pw: string) =>
      ns
        .exec('mosquitto_pub', [
          ...['-h', url.hostname, '-p', url.port, '-u', 'dev-inside', '-P', pw],
          ...['-t', 'devices/dev-inside/online', '-m', 'true', '-q', '1'],
        ])
        .then(
          () => 'published',
          (err: Error) => err.message,
        );
    expect(await publish(password)).toBe('published');
    // The same listener settings as on 127.0.0.1: accounts are enforced there too.
    expect(await publish(`${password}-wrong`)).toMatch(/not authori[sz]ed|Connection error/i);
    expect(() => broker.deviceUrlAt('10.0.0.1')).toThrow(/not on 10.0.0.1/);
  });

  it('stores every seq exactly once after a partition while the device kept measuring', async () => {
    const quiet = { LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'info' };
    const device = { wrap: ns.prefix, host: ns.nsAddress, ...(log ? { log } : {}) };
    const [db, broker, redisServer] = await Promise.all([
      MariaDbServer.start(),
      MosquittoServer.start({ alsoListenOn: [ns.hostAddress], extraConfig: shippedBrokerLimits() }),
      RedisServer.start(device),
    ]);
    cleanup.push(
      () => db.destroy(),
      () => broker.destroy(),
      () => redisServer.destroy(),
    );
    expect(redisServer.url).toBe(`redis://${ns.nsAddress}:${redisServer.port}`);
    const databaseUrl = await db.createDatabase();
    const dbName = new URL(databaseUrl).pathname.slice(1);
    const receiver = await NodeService.start('backend/receiver', {
      env: { ...quiet, DATABASE_URL: databaseUrl, MQTT_URL: broker.url, INGEST_MAX_WAIT_MS: '20' },
    });
    cleanup.push(() => receiver.destroy());
    const deviceId = 'dev-netns';
    // Inside the namespace the device reaches its Redis on its own loopback, the broker on the host side.
    const insideRedis = `redis://127.0.0.1:${redisServer.port}`;
    const mqtthandler = await NodeService.start('device/mqtthandler', {
      ...device,
      env: {
        ...quiet,
        DEVICE_ID: deviceId,
        REDIS_URL: insideRedis,
        MQTT_URL: broker.urlAt(ns.hostAddress),
        MQTT_KEEPALIVE_S: String(KEEPALIVE_S),
        MQTT_RECONNECT_MIN_MS: '200',
        MQTT_RECONNECT_MAX_MS: '2000',
        MQTT_ACK_TIMEOUT_MS: '5000',
        STATE_PUBLISH_INTERVAL_MS: '5000',
      },
    });
    cleanup.push(() => mqtthandler.destroy());
    const sensor = await NodeService.start('device/sensor', {
      ...device,
      env: { ...quiet, REDIS_URL: insideRedis, SENSOR_DRIVER: 'simulated', SENSOR_INTERVAL_MS: '100' },
    });
    cleanup.push(() => sensor.destroy());
    expect(sensor.healthUrl).toBe(`http://${ns.nsAddress}:${sensor.port}/health`);

    const keys = deviceKeys();
    // Commands to the device Redis from the host wait while the link is cut (and go through after).
    const redis = new Redis(redisServer.url, { maxRetriesPerRequest: null });
    redis.on('error', () => {});
    cleanup.push(async () => redis.disconnect());
    /** Seen from inside the namespace, so it answers while the link is cut. */
    const insideXlen = async () =>
      Number((await ns.exec('redis-cli', ['-p', String(redisServer.port), 'XLEN', keys.outbox])).trim());
    const stored = async (): Promise<{ n: number; distinct: number; max: number }> => {
      const rows = (await db.query(
        `SELECT COUNT(*) AS n, COUNT(DISTINCT seq) AS d, MAX(seq) AS hi
           FROM ${dbName}.readings WHERE device_id = ? AND sensor = 'temperature'`,
        [deviceId],
      )) as { n: number; d: number; hi: number | null }[];
      return { n: Number(rows[0]?.n ?? 0), distinct: Number(rows[0]?.d ?? 0), max: Number(rows[0]?.hi ?? 0) };
    };
    /** Every seq 1..upTo stored (as the temperature row). */
    const storedUpTo = async (upTo: number): Promise<boolean> => {
      const rows = (await db.query(
        `SELECT COUNT(DISTINCT seq) AS d FROM ${dbName}.readings
          WHERE device_id = ? AND sensor = 'temperature' AND seq BETWEEN 1 AND ?`,
        [deviceId, upTo],
      )) as { d: number }[];
      return Number(rows[0]?.d ?? 0) === upTo;
    };

    await waitFor('readings to stream into MariaDB', 60_000, async () => {
      const s = await stored();
      return s.n >= 30 ? true : `${s.n} stored`;
    });

    const cutAt = Date.now();
    await ns.partition();
    // What was in flight lands; then nothing more while the device keeps measuring.
    await sleep(3000);
    const storedEarly = (await stored()).n;
    const backlogEarly = await insideXlen();
    await sleep(PARTITION_MS - 3000);
    const storedLate = (await stored()).n;
    const backlogLate = await insideXlen();
    expect(storedLate).toBe(storedEarly);
    // 17 s at 10 readings/s: the outbox grows (the sensor measures on; nothing is acknowledged).
    expect(backlogLate - backlogEarly).toBeGreaterThan(100);

    const lastSeqAtHeal = Number(
      await ns.exec('redis-cli', ['-p', String(redisServer.port), 'GET', keys.seq]),
    );
    const healAt = Date.now();
    await ns.heal();
    await waitFor('the partition backlog stored', 120_000, async () =>
      (await storedUpTo(lastSeqAtHeal)) ? true : JSON.stringify(await stored()),
    );
    const recoveredMs = Date.now() - healAt;

    // Stop measuring and let everything drain: every seq exactly once, outbox empty.
    await new MeasuringStateStore(redis, { running: true, intervalMs: 100 }).setRunning(false, 'local');
    await sleep(500);
    const lastSeq = Number(await redis.get(keys.seq));
    await waitFor('all readings stored and the outbox empty', 120_000, async () => {
      const [s, backlog] = await Promise.all([stored(), redis.xlen(keys.outbox)]);
      return s.n >= lastSeq && backlog === 0 ? true : `${s.n}/${lastSeq} stored, backlog ${backlog}`;
    });
    expect(await stored()).toEqual({ n: lastSeq, distinct: lastSeq, max: lastSeq });

    const lost = logTimes(mqtthandler, /broker connection lost/).filter((t) => t >= cutAt);
    const reconnected = logTimes(mqtthandler, /connected to broker/).filter((t) => t >= healAt);
    const brokerLog = readFileSync(broker.logFile, 'utf8');
    const figures = {
      partitionMs: healAt - cutAt,
      backlogAtHeal: backlogLate,
      lastSeqAtHeal,
      deviceDetectedLossAfterMs: lost[0] !== undefined ? lost[0] - cutAt : null,
      reconnectAttemptsWhileCut: lost.filter((t) => t < healAt).length,
      reconnectedAfterHealMs: reconnected[0] !== undefined ? reconnected[0] - healAt : null,
      recoveredMs,
      brokerTimedOutDevice: /dev-netns has exceeded timeout/.test(brokerLog),
      totalStored: lastSeq,
    };
    console.log(`netns partition figures: ${JSON.stringify(figures)}`);
    // With a 5 s keepalive the device notices the dead link within the 20 s cut (1.5 × keepalive).
    expect(figures.deviceDetectedLossAfterMs).not.toBeNull();
    expect(figures.deviceDetectedLossAfterMs!).toBeLessThan(PARTITION_MS);
  });
});
