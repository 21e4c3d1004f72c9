import { afterEach, describe, expect, it } from 'vitest';
import { sleep } from '@sensorfleet/tools/harness';
import { DeliveryRig } from './support/delivery-rig.js';

/**
 * The heart of the system (DESIGN.md "Delivery guarantee"): every reading measured on the device is
 * stored in MariaDB exactly once, whatever fails in between, and the device outbox ends up empty.
 */
const N = 10_000;
// temperature, humidity, counter as measured, plus heat_index and dew_point derived by the receiver.
const SENSORS = 5;

async function expectExactlyOnce(rig: DeliveryRig): Promise<void> {
  await rig.settle(N * SENSORS);
  const audit = await rig.audit();
  expect(audit).toEqual(
    ['counter', 'dew_point', 'heat_index', 'humidity', 'temperature'].map((sensor) => ({
      sensor,
      n: N,
      distinct: N,
      min: 1,
      max: N,
      wrong: 0,
    })),
  );
  expect(await rig.redis.xlen(rig.outbox.keys.outbox)).toBe(0);
}

describe('exactly-once delivery from the device outbox to MariaDB', () => {
  let rig: DeliveryRig | undefined;
  afterEach(async () => {
    await rig?.close();
    rig = undefined;
  });

  it('survives the broker being killed and restarted while readings stream', async () => {
    rig = await DeliveryRig.start();
    const r = rig;
    await r.produce(N, 2500, async (n) => {
      if (n === 2500) await r.broker.kill();
      if (n === 5000) await r.broker.start();
    });
    await expectExactlyOnce(r);
  });

  it('survives the receiver being killed -9 mid-batch and restarted', async () => {
    rig = await DeliveryRig.start();
    const r = rig;
    let killedWith = -1;
    await r.produce(N, 2500, async (n) => {
      if (n === 3000) {
        // Kill while rows are being written: some batches committed, some not, acks in flight.
        killedWith = await r.storedRows();
        await r.receiver.kill();
      }
      if (n === 6000) await r.receiver.start();
    });
    expect(killedWith).toBeGreaterThan(0);
    await expectExactlyOnce(r);
  });

  it('survives graceful restarts (SIGTERM) of the receiver and the mqtthandler mid-stream', async () => {
    rig = await DeliveryRig.start();
    const r = rig;
    await r.produce(N, 2500, async (n) => {
      if (n === 3000) await r.receiver.restart();
      if (n === 6000) await r.mqtthandler.restart();
    });
    await expectExactlyOnce(r);
  });

  it('loses nothing while MariaDB is stopped, even if the receiver restarts during the outage', async () => {
    rig = await DeliveryRig.start();
    const r = rig;
    let backlogDuringOutage = 0;
    await r.produce(N, 2500, async (n) => {
      if (n === 2000) await r.db.stop();
      // The receiver loses whatever it held in memory: only what it committed may have been acked.
      if (n === 4000) await r.receiver.kill();
      if (n === 4500) await r.receiver.start();
      if (n === 6000) {
        backlogDuringOutage = await r.redis.xlen(r.outbox.keys.outbox);
        await sleep(2000);
        await r.db.start();
      }
    });
    // Nothing could be committed during the outage, so nothing produced then may have left the device.
    expect(backlogDuringOutage).toBeGreaterThanOrEqual(4000);
    await expectExactlyOnce(r);
  });
});
