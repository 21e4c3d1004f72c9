import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { sleep, waitFor } from '@sensorfleet/tools/harness';
import { DeviceFleet } from './support/device-fleet.js';
import { ReceiverRig, ROLLUP_CHECK_SQL, rssMb } from '../../backend/receiver/test/support/receiver-rig.js';

/**
 * The receiver when things fail (docs/design.md#delivery-guarantee, #scaling): real
 * devices (Redis outbox + mqtthandler) publishing to receiver replicas on a shared subscription, with a
 * replica killed -9, or MariaDB gone for half a minute. Nothing may be lost and nothing stored or counted twice.
 */
/** Rows per reading: temperature, humidity, counter, and the derived heat_index and dew_point. */
const ROWS_PER_READING = 5;
/**
 * RECEIVER_TEST_OUTAGE_S: how long MariaDB is away in the outage test. 30 s in `npm test` (long enough for
 * the receiver's backoff to reach its ceiling and memory to plateau); drill 3 of `npm run drill` holds it
 * away for the full minute.
 */
const OUTAGE_S = Number(process.env.RECEIVER_TEST_OUTAGE_S ?? 30);

/** Every reading of every device stored exactly once, with the values it was measured with. */
async function expectExactlyOnce(rig: ReceiverRig, fleet: DeviceFleet, perDevice: number): Promise<void> {
  await waitFor('every reading stored and every outbox empty', 180_000, async () => {
    const [row] = await rig.query<{ n: number }>(
      `SELECT COUNT(*) AS n FROM readings WHERE device_id IN (${fleet.ids.map(() => '?').join(',')})`,
      fleet.ids,
    );
    return (
      Number(row?.n) === fleet.ids.length * perDevice * ROWS_PER_READING && (await fleet.backlog()) === 0
    );
  });
  const audit = await rig.query<{
    device_id: string;
    n: number;
    seqs: number;
    lo: number;
    hi: number;
    wrong: number;
  }>(
    `SELECT device_id, COUNT(*) AS n, COUNT(DISTINCT seq) AS seqs, MIN(seq) AS lo, MAX(seq) AS hi,
       SUM(CASE sensor WHEN 'temperature' THEN ABS(value - (20 + (seq % 1000) / 100)) > 1e-9
                       WHEN 'humidity' THEN ABS(value - (40 + (seq % 500) / 10)) > 1e-9
                       WHEN 'counter' THEN value <> seq ELSE 0 END) AS wrong
     FROM readings WHERE device_id IN (${fleet.ids.map(() => '?').join(',')}) GROUP BY device_id ORDER BY device_id`,
    fleet.ids,
  );
  expect(
    audit.map((a) => [a.device_id, Number(a.n), Number(a.seqs), Number(a.lo), Number(a.hi), Number(a.wrong)]),
  ).toEqual(
    [...fleet.ids].sort().map((id) => [id, perDevice * ROWS_PER_READING, perDevice, 1, perDevice, 0]),
  );
  // Counted once too: each reading is "stored" in exactly one committed transaction, whichever replica
  // (counters and rollups are folded in from the committed batches).
  await rig.folded(60_000);
  const counters = await rig.query<{ device_id: string; stored: number; rows: number }>(
    `SELECT device_id, SUM(stored_readings) AS stored, SUM(stored_rows) AS \`rows\` FROM ingest_counters
     WHERE device_id IN (${fleet.ids.map(() => '?').join(',')}) GROUP BY device_id ORDER BY device_id`,
    fleet.ids,
  );
  expect(counters.map((c) => [Number(c.stored), Number(c.rows)])).toEqual(
    fleet.ids.map(() => [perDevice, perDevice * ROWS_PER_READING]),
  );
  expect(await rig.query(ROLLUP_CHECK_SQL('readings_1m'))).toEqual([]);
  expect(await rig.query(ROLLUP_CHECK_SQL('readings_1h'))).toEqual([]);
}

describe('receiver resilience', () => {
  let rig: ReceiverRig | undefined;
  let fleet: DeviceFleet | undefined;
  afterEach(async () => {
    await fleet?.close();
    await rig?.close();
    fleet = undefined;
    rig = undefined;
  });

  it('two replicas on a shared subscription, one killed -9 mid-run: nothing lost, nothing twice', async () => {
    rig = await ReceiverRig.start({ receivers: 2 });
    const r = rig;
    fleet = await DeviceFleet.start(3, r.broker.url);
    const perDevice = 2000;
    let takenBeforeKill: number[] = [];
    await fleet.produce(perDevice, 900, async (n) => {
      if (n === 700) {
        takenBeforeKill = await Promise.all(
          [0, 1].map((i) => r.counter('sensorfleet_messages_total', 'kind="telemetry"', i)),
        );
        await r.receivers[0]!.kill();
      }
      if (n === 1400) await r.receivers[0]!.start();
    });
    // Both replicas had their share before one was killed.
    expect(takenBeforeKill.every((n) => n > 0)).toBe(true);
    await expectExactlyOnce(r, fleet, perDevice);
  }, 240_000);

  it(
    `MariaDB stopped for ${OUTAGE_S} s while devices publish: nothing lost, memory bounded, recovers by itself`,
    async () => {
      rig = await ReceiverRig.start({ env: { INGEST_MAX_PENDING_ROWS: '20000' } });
      const r = rig;
      fleet = await DeviceFleet.start(2, r.broker.url);
      const receiver = r.receivers[0]!;
      const pid = receiver.pid;
      // A 004 device that does not wait for anything floods the receiver meanwhile (QoS 1, no acks).
      const flood = await mqtt.connectAsync(r.broker.url, { clientId: 'flood-004' });
      let flooding = true;
      const flooder = (async () => {
        for (let i = 0; flooding; i++) {
          flood.publish(
            'devices/flood-004/data',
            JSON.stringify({ temperature: 20 + (i % 10), humidity: 50, light: i }),
            { qos: 1 },
          );
          if (i % 50 === 0) await sleep(100);
        }
      })();

      const rss: number[] = [];
      let rssBefore = 0;
      let pausedDuringOutage = 0;
      const perSecond = 100;
      const perDevice = Math.round(((OUTAGE_S + 30) * perSecond) / 2);
      const outageStart = Math.round((10 * perSecond) / 2);
      const outageEnd = outageStart + Math.round((OUTAGE_S * perSecond) / 2);
      await fleet.produce(perDevice, perSecond, async (n) => {
        if (n === outageStart) {
          rssBefore = rssMb(receiver.pid);
          await r.db.stop();
        }
        if (n > outageStart && n < outageEnd && n % 50 === 0) {
          rss.push(rssMb(receiver.pid));
          pausedDuringOutage = Math.max(pausedDuringOutage, await r.counter('sensorfleet_intake_paused'));
        }
        if (n === outageEnd) {
          // Nothing could be committed, so nothing measured meanwhile may have left the devices.
          expect(await fleet!.backlog()).toBeGreaterThanOrEqual(2 * (outageEnd - outageStart) - 200);
          await r.db.start();
          flooding = false;
        }
      });
      await flooder;
      await flood.endAsync(true);

      await expectExactlyOnce(r, fleet, perDevice);
      // The same process all along (no crash, no restart), healthy again, intake flowing.
      expect(receiver.pid).toBe(pid);
      await r.waitHealthy();
      expect(await r.counter('sensorfleet_intake_paused')).toBe(0);
      // It stopped taking messages instead of growing: RSS stays near where it was.
      expect(pausedDuringOutage).toBe(1);
      const peak = Math.max(...rss);
      const lastThird = rss.slice(Math.floor((rss.length * 2) / 3));
      process.stderr.write(
        `[outage ${OUTAGE_S}s] receiver RSS before ${rssBefore.toFixed(0)} MB, peak ${peak.toFixed(0)} MB, ` +
          `last third ${Math.min(...lastThird).toFixed(0)}–${Math.max(...lastThird).toFixed(0)} MB\n`,
      );
      expect(peak).toBeLessThan(rssBefore + 150);
      expect(Math.max(...lastThird) - Math.min(...lastThird)).toBeLessThan(40);
    },
    240_000 + OUTAGE_S * 1000,
  );
});
