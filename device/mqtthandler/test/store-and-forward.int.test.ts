import { afterEach, describe, expect, it } from 'vitest';
import { DeviceRig, sleep, waitFor } from '@sensorfleet/tools/harness';

/**
 * Store-and-forward on the device (docs/design.md#delivery-guarantee), with the real sensor and mqtthandler
 * processes: live readings first, the backlog behind them, nothing lost or stored twice whatever is killed.
 */
let rig: DeviceRig | undefined;
afterEach(async () => {
  await rig?.close();
  rig = undefined;
});

async function expectEverySeqOnce(r: DeviceRig, lastSeq: number): Promise<void> {
  await r.settle(lastSeq);
  expect(await r.storedSummary()).toEqual({ rows: lastSeq, distinct: lastSeq, min: 1, max: lastSeq });
}

/** Preloaded readings carry `counter` = seq − 1: checks that what is stored is what was measured. */
async function wrongCounters(r: DeviceRig): Promise<number> {
  const rows = (await r.db!.query(
    `SELECT COUNT(*) AS n FROM ${r.dbName}.readings WHERE device_id = ? AND sensor = 'counter' AND value <> seq - 1`,
    [r.deviceId],
  )) as { n: number }[];
  return Number(rows[0]?.n);
}

describe('device store-and-forward', () => {
  it('gets live readings to the backend within seconds while a 20 000-reading backlog drains behind them', async () => {
    rig = await DeviceRig.start({ sensor: false, mqtthandler: false });
    const r = rig;
    await r.preload(20_000);
    // The sensor first (at 50 Hz): live readings exist from the first moment of the replay on.
    await r.startSensor({ SENSOR_INTERVAL_MS: '20' });
    // A small window stretches the replay over a few seconds on any machine, so live data must compete.
    await r.startMqtthandler({ MQTT_INFLIGHT_MAX: '400' });
    const linkUpAt = Date.now();
    await waitFor('the backlog drained and live readings stored', 120_000, async () =>
      (await r.storedSummary()).rows >= 20_200 ? true : 'draining',
    );
    const lastSeq = await r.stopMeasuring();
    await expectEverySeqOnce(r, lastSeq);
    expect(await wrongCounters(r)).toBe(0);

    const stored = await r.storedReadings();
    const backlogDoneAt = Math.max(...stored.filter((x) => x.seq <= 20_000).map((x) => x.receivedMs));
    const liveDuringReplay = stored.filter(
      (x) => x.measuredMs > linkUpAt && x.measuredMs < backlogDoneAt - 500,
    );
    const latencies = liveDuringReplay.map((x) => x.receivedMs - x.measuredMs);
    // The replay lasted long enough to prove something: live readings fell inside it (at 50 Hz, 20 readings
    // are 0.4 s; how long the replay takes depends on the machine, so no more is required).
    expect(liveDuringReplay.length).toBeGreaterThanOrEqual(20);
    expect(Math.max(...latencies)).toBeLessThan(3000);
    // …and the backlog went out in seq order: stored in ascending batches (received time never goes back by
    // more than the few batches in flight at once).
    const backlog = stored.filter((x) => x.seq <= 20_000);
    const inversions = backlog.filter((x, i) => i > 0 && x.receivedMs < backlog[i - 1]!.receivedMs - 1000);
    expect(inversions).toEqual([]);
  });

  it('loses and duplicates nothing when the mqtthandler is killed -9 during a replay', async () => {
    rig = await DeviceRig.start({ sensor: false, mqtthandler: false });
    const r = rig;
    await r.preload(20_000);
    const mqtthandler = await r.startMqtthandler();
    await waitFor('replay', 60_000, async () =>
      (await r.storedSummary()).rows >= 4000 ? true : 'replaying',
    );
    await mqtthandler.kill();
    const storedAtKill = (await r.storedSummary()).rows;
    expect(storedAtKill).toBeLessThan(20_000);
    await sleep(1000);
    await mqtthandler.start();
    await expectEverySeqOnce(r, 20_000);
    expect(await wrongCounters(r)).toBe(0);
  });

  it('loses and duplicates nothing when sensor, mqtthandler and Redis are all killed -9 during a replay', async () => {
    rig = await DeviceRig.start({ sensor: false, mqtthandler: false });
    const r = rig;
    await r.preload(20_000);
    await r.startSensor({ SENSOR_INTERVAL_MS: '100' });
    await r.startMqtthandler();
    await waitFor('replay', 60_000, async () =>
      (await r.storedSummary()).rows >= 3000 ? true : 'replaying',
    );
    const backlogAtKill = await r.redis.xlen(r.keys.outbox);
    await Promise.all([r.sensor!.kill(), r.mqtthandler!.kill(), r.redisServer.kill()]);
    expect(backlogAtKill).toBeGreaterThan(5000);
    await sleep(500);
    await r.redisServer.start();
    await Promise.all([r.sensor!.start(), r.mqtthandler!.start()]);
    await sleep(2000);
    const lastSeq = await r.stopMeasuring();
    expect(lastSeq).toBeGreaterThan(20_010);
    await expectEverySeqOnce(r, lastSeq);
  });

  // 20 s: several reconnect attempts with a growing backoff; drill 1 of `npm run drill` holds the broker
  // away for the full minute.
  const BROKER_OUTAGE_S = 20;
  it(`stores every reading once after the broker was down for ${BROKER_OUTAGE_S} s while the sensor measured at 10 Hz`, async () => {
    rig = await DeviceRig.start({ sensor: { SENSOR_INTERVAL_MS: '100' } });
    const r = rig;
    await waitFor('first readings', 30_000, async () =>
      (await r.storedSummary()).rows >= 20 ? true : 'starting',
    );
    await r.broker.kill();
    await sleep(BROKER_OUTAGE_S * 1000);
    const backlog = await r.redis.xlen(r.keys.outbox);
    // the outage's readings (10 a second, less a timer's slack) waited on the device
    expect(backlog).toBeGreaterThanOrEqual(BROKER_OUTAGE_S * 9);
    await r.broker.start();
    await sleep(3000);
    const lastSeq = await r.stopMeasuring();
    await expectEverySeqOnce(r, lastSeq);
    // every reading the sensor took got a seq: none lost between measuring and the outbox
    expect(await r.metric(r.sensor!, 'sensorfleet_readings_taken_total')).toBe(lastSeq);
    await waitFor('the retained state to show the empty outbox', 20_000, async () => {
      const s = await r.retainedState();
      return s.running === false && s.backlog === 0 ? true : JSON.stringify(s);
    });
    expect(await r.retainedState()).toMatchObject({ backlog: 0, oldestUnackedTs: null, lastSeq, dropped: 0 });
  });
});
