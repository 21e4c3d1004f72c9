import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqtt from 'mqtt';
import { deviceKeys, MeasuringStateStore, topics } from '@sensorfleet/shared';
import { harnessRoot, NodeService, RedisServer, sleep, waitFor } from '@sensorfleet/tools/harness';
import { WebadminRig, type Login } from './support/webadmin-rig.js';

/**
 * Drill 10's building block: the device's wall clock jumps back an hour while it measures. The jump is
 * injected below the sensor (libfaketime, Debian package `faketime`, preloaded into the real sensor
 * process: its Date.now() follows a timestamp file the test rewrites, its monotonic clock stays real), so
 * the sensor code runs unchanged. Then: seqs stay contiguous and increasing, readings carry the wrong
 * (hour-old) timestamps as measured, the receiver stores all of them, the jump travels sensor status →
 * device state → web admin API (states are ordered by their revision, not by the device clock), and the web
 * admin's history returns the hour-old rows.
 */
const LIBFAKETIME = ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib']
  .map((dir) => path.join(dir, 'faketime', 'libfaketime.so.1'))
  .find((file) => existsSync(file));
const HOUR = 3_600_000;
const DEVICE = 'dev-clock';
const quiet = { LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn' };

interface DeviceStateSeen {
  ts?: string;
  sensor?: { clockJumps?: number; lastClockJump?: { at: string; byMs: number } };
}

describe('device clock jumps back an hour while measuring', () => {
  let rig: WebadminRig;
  const stops: (() => Promise<unknown>)[] = [];
  let login: Login;
  /** The device state published after the jump (set by the first test). */
  let jumpedState: DeviceStateSeen | undefined;

  /** The retained devices/{id}/state as the broker hands it to a new subscriber. */
  async function retainedState(): Promise<DeviceStateSeen> {
    const client = await mqtt.connectAsync(rig.broker.url, { clientId: `clock-${Date.now()}` });
    try {
      const got = new Promise<DeviceStateSeen>((resolve) =>
        client.on('message', (_t, p) => resolve(JSON.parse(p.toString()) as DeviceStateSeen)),
      );
      await client.subscribeAsync(topics.state(DEVICE), { qos: 1 });
      return await Promise.race([got, sleep(10_000).then(() => Promise.reject(new Error('no state')))]);
    } finally {
      await client.endAsync();
    }
  }

  beforeAll(async () => {
    rig = await WebadminRig.start();
    stops.push(() => rig.close());
    await rig.addUser('viewer', 'viewer');
    login = await rig.login('viewer');
  });
  afterAll(async () => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
  });

  it('keeps seq order, reports the jump in the device state, and the backend keeps the rows', async () => {
    if (!LIBFAKETIME)
      throw new Error('libfaketime not found: install Debian package faketime (npm test does)');
    const receiver = await NodeService.start('backend/receiver', {
      env: { ...quiet, DATABASE_URL: rig.databaseUrl, MQTT_URL: rig.broker.url, INGEST_MAX_WAIT_MS: '20' },
    });
    stops.push(() => receiver.destroy());
    // The device's processes share its clock (one kernel on the board): sensor and mqtthandler jump together.
    const clockFile = path.join(harnessRoot(), `faketime-${process.pid}-${Date.now()}`);
    writeFileSync(clockFile, '+0\n');
    const onDeviceClock = {
      LD_PRELOAD: LIBFAKETIME,
      FAKETIME_TIMESTAMP_FILE: clockFile,
      FAKETIME_NO_CACHE: '1',
      FAKETIME_DONT_FAKE_MONOTONIC: '1',
    };
    const redisServer = await RedisServer.start();
    stops.push(() => redisServer.destroy());
    const mqtthandler = await NodeService.start('device/mqtthandler', {
      env: {
        ...quiet,
        DEVICE_ID: DEVICE,
        REDIS_URL: redisServer.url,
        MQTT_URL: rig.broker.url,
        MQTT_RECONNECT_MIN_MS: '200',
        MQTT_RECONNECT_MAX_MS: '2000',
        STATE_PUBLISH_INTERVAL_MS: '5000',
        ...onDeviceClock,
      },
    });
    stops.push(() => mqtthandler.destroy());
    const sensor = await NodeService.start('device/sensor', {
      env: {
        ...quiet,
        REDIS_URL: redisServer.url,
        SENSOR_DRIVER: 'simulated',
        SENSOR_INTERVAL_MS: '100',
        ...onDeviceClock,
      },
    });
    stops.push(() => sensor.destroy());

    const redis = new Redis(redisServer.url);
    stops.push(async () => redis.disconnect());
    const keys = deviceKeys();
    const sensorStatus = async () =>
      JSON.parse((await redis.hget(keys.sensorStatus, 'json')) ?? '{}') as {
        status?: string;
        clockJumps?: number;
        lastClockJump?: { at: string; byMs: number };
      };
    const storedRows = async () =>
      (
        await rig.query<{ seq: number; m: Date }>(
          "SELECT seq, measured_at AS m FROM readings WHERE device_id = ? AND sensor = 'temperature' ORDER BY seq",
          [DEVICE],
        )
      ).map((r) => ({ seq: Number(r.seq), measuredMs: r.m.getTime() }));

    await waitFor('readings stored', 60_000, async () => (await storedRows()).length >= 20);
    expect((await sensorStatus()).clockJumps).toBeUndefined();

    writeFileSync(clockFile, '-1h\n');
    const jumpedAt = Date.now();
    await waitFor(
      'the sensor to report the jump',
      20_000,
      async () => (await sensorStatus()).clockJumps === 1,
    );
    const status = await sensorStatus();
    expect(status.status).toBe('ok');
    expect(Math.abs(status.lastClockJump!.byMs + HOUR)).toBeLessThan(2000);
    // The report carries the device's (wrong) time of the jump.
    expect(Math.abs(Date.parse(status.lastClockJump!.at) - (jumpedAt - HOUR))).toBeLessThan(5000);

    await sleep(2000); // measuring goes on at its cadence on the wrong clock
    await new MeasuringStateStore(redis, { running: true, intervalMs: 100 }).setRunning(false, 'local');
    await sleep(500);
    const lastSeq = Number(await redis.get(keys.seq));
    await waitFor('all readings stored, outbox empty', 60_000, async () => {
      const [rows, backlog] = await Promise.all([storedRows(), redis.xlen(keys.outbox)]);
      return rows.length >= lastSeq && backlog === 0
        ? true
        : `${rows.length}/${lastSeq} stored, backlog ${backlog}`;
    });

    // Every seq 1..N exactly once; timestamps rise with seq except for one step back of about an hour.
    const rows = await storedRows();
    expect(rows.map((r) => r.seq)).toEqual(Array.from({ length: lastSeq }, (_, i) => i + 1));
    const steps = rows.slice(1).map((r, i) => r.measuredMs - rows[i]!.measuredMs);
    const back = steps.filter((d) => d < 0);
    expect(back).toHaveLength(1);
    expect(Math.abs(back[0]! + HOUR)).toBeLessThan(2000);
    const afterJump = rows.slice(steps.indexOf(back[0]!) + 1);
    expect(afterJump.length).toBeGreaterThan(15);
    for (const r of afterJump) expect(jumpedAt - r.measuredMs).toBeGreaterThan(HOUR - 5000);

    // Nothing rejected by the receiver; the counters also count them as stored.
    const [counters] = await rig.query<{ stored: number | null; rejected: number | null }>(
      'SELECT SUM(stored_readings) AS stored, SUM(rejected_readings) AS rejected FROM ingest_counters WHERE device_id = ?',
      [DEVICE],
    );
    expect(Number(counters?.rejected ?? 0)).toBe(0);

    // The device publishes the jump in its retained state (devices/{id}/state).
    const retained = await retainedState();
    expect(retained.sensor?.clockJumps).toBe(1);
    expect(Math.abs((retained.sensor?.lastClockJump?.byMs ?? 0) + HOUR)).toBeLessThan(2000);
    jumpedState = retained;

    // The history of the last two hours (raw resolution) holds the hour-old rows as well.
    const headers = WebadminRig.browser(login);
    const from = new Date(jumpedAt - 2 * HOUR).toISOString();
    const to = new Date(Date.now() + 60_000).toISOString();
    const history = (
      await rig.app.inject({
        method: 'GET',
        url: `/api/devices/${DEVICE}/readings?sensor=temperature&from=${from}&to=${to}&maxPoints=5000`,
        headers,
      })
    ).json() as { resolution: string; points: { t: string; count: number }[] };
    const hourOld = history.points.filter((p) => jumpedAt - Date.parse(p.t) > HOUR - 5000);
    const counted = history.points.reduce((n, p) => n + p.count, 0);
    console.log(
      `clock jump figures: ${JSON.stringify({
        readings: lastSeq,
        afterJump: afterJump.length,
        reportedByMs: status.lastClockJump!.byMs,
        storedCounter: Number(counters?.stored ?? 0),
        history: {
          resolution: history.resolution,
          points: history.points.length,
          counted,
          hourOld: hourOld.length,
        },
      })}`,
    );
    expect(history.resolution).toBe('raw');
    expect(counted).toBe(lastSeq);
    expect(hourOld.length).toBe(afterJump.length);
  });

  // The device numbers its states (`rev`, kept in its Redis), and the receiver orders states by it: the
  // states published after the jump replace the pre-jump one although their `ts` is an hour older.
  it('shows the jump in the web admin while the device clock is still behind', async () => {
    expect(jumpedState?.sensor?.clockJumps).toBe(1);
    const headers = WebadminRig.browser(login);
    await waitFor('the web admin to show the jump', 20_000, async () => {
      const r = await rig.app.inject({ method: 'GET', url: `/api/devices/${DEVICE}`, headers });
      const state = (r.json() as { state?: DeviceStateSeen }).state;
      return r.statusCode === 200 && state?.sensor?.clockJumps === 1;
    });
    const r = await rig.app.inject({ method: 'GET', url: `/api/devices/${DEVICE}`, headers });
    const shown = (r.json() as { state?: DeviceStateSeen & { rev?: number } }).state;
    // The state shown is dated on the device's (behind) clock and carries the revision.
    expect(Date.now() - Date.parse(shown!.ts!)).toBeGreaterThan(HOUR - 60_000);
    expect(shown?.rev).toBeGreaterThan(0);
  });
});
