import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { topics } from '@sensorfleet/shared';
import { DeviceRig, waitFor } from '@sensorfleet/tools/harness';

/**
 * The outbox's drop count is exact when the bound drops readings the backend stored but never acked
 * (docs/design.md#outbox-drop-count): real Redis, Mosquitto, MariaDB, receiver and mqtthandler.
 */
let rig: DeviceRig | undefined;
let dir: string | undefined;
afterEach(async () => {
  await rig?.close();
  rig = undefined;
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

describe('outbox drop count', () => {
  it('counts exactly the readings missing when the bound drops stored readings whose ack was lost', async () => {
    const deviceId = `dev-drop-${Math.random().toString(36).slice(2, 6)}`;
    dir = await mkdtemp(path.join(tmpdir(), 'drop-count-'));
    const acl = path.join(dir, 'acl');
    // First the broker loses every ack to this device (as a broker that goes away after the commit does);
    // the receiver stores the readings all the same.
    await writeFile(acl, `topic readwrite #\ntopic deny ${topics.ack(deviceId)}\n`);
    rig = await DeviceRig.start({
      deviceId,
      sensor: false,
      mqtthandler: false,
      brokerConfig: `acl_file ${acl}\n`,
    });
    const r = rig;
    const cap = 50;
    const bounds = { maxReadings: cap, maxAgeMs: 0 };
    await r.preload(cap, bounds);
    // A short ack timeout: resends (stored as duplicates) meanwhile change nothing, and after the broker is
    // back an ack the receiver could not publish yet (its ack connection still down) is asked for again.
    const mqtthandler = await r.startMqtthandler({ MQTT_ACK_TIMEOUT_MS: '2000' });
    await waitFor('the first readings stored', 60_000, async () =>
      (await r.storedSummary()).rows >= cap ? true : `${(await r.storedSummary()).rows} stored`,
    );
    expect(await r.redis.xlen(r.keys.outbox)).toBe(cap); // stored, but never acked

    // The broker goes away; meanwhile 60 more readings push the 50 sent ones and 10 new ones out.
    await r.broker.stop();
    // Only once the mqtthandler knows the link is gone: a reading appended before that is sent at once
    // (append hints) and so dropped as a sent one, which this test's first count does not expect.
    await waitFor('the mqtthandler to see the broker gone', 30_000, async () =>
      (await r.metric(mqtthandler, 'sensorfleet_mqtt_connected')) === 0 ? true : 'still connected',
    );
    await r.preload(60, bounds);
    const before = await r.outbox.stats();
    // The old script counted all 60 drops, 50 of them stored in MariaDB: an over-count of 50.
    expect(before).toMatchObject({ backlog: cap, lastSeq: 110, dropped: 10, dropsUnconfirmed: cap });

    // The broker is back (and passes acks again): the device asks about the 50 and sends the rest.
    await writeFile(acl, 'topic readwrite #\n');
    await r.broker.start();
    // Measuring goes on (one reading per look, as the sensor would; no bound now, so nothing else is
    // dropped): probes ride on telemetry batches.
    await waitFor('every dropped reading settled', 60_000, async () => {
      await r.outbox.append(
        new Date().toISOString(),
        { temperature: 20, counter: 0 },
        { maxReadings: 0, maxAgeMs: 0 },
      );
      const s = await r.outbox.stats();
      return s.dropsUnconfirmed === 0 ? true : JSON.stringify(s);
    });
    const lastSeq = await r.stopMeasuring();
    await r.settle(lastSeq - 10);
    const stored = await r.storedSummary();
    const after = await r.outbox.stats();
    expect({ missing: lastSeq - stored.distinct, counted: after.dropped, rows: stored.rows }).toEqual({
      missing: 10,
      counted: 10,
      rows: lastSeq - 10,
    });
    await waitFor('the state to report the exact count', 30_000, async () => {
      const s = await r.retainedState();
      return s.dropped === 10 && s.dropsUnconfirmed === 0 ? true : JSON.stringify(s);
    });
  });

  /**
   * Measuring stopped, the outbox empty, and `stored + lost` dropped sent readings waiting as stubs: the
   * first `stored` reached MariaDB (their acks were lost), the rest never left the device (their publish
   * went with the broker). Staged the way the outbox bound leaves it (entries gone, stubs in
   * dropped:unconfirmed), with the mqtthandler down; then broker and mqtthandler come back.
   */
  async function idleWithStubs(stored: number, lost: number): Promise<{ r: DeviceRig; stubs: string[] }> {
    const deviceId = `dev-idle-${Math.random().toString(36).slice(2, 6)}`;
    dir = await mkdtemp(path.join(tmpdir(), 'drop-count-'));
    const acl = path.join(dir, 'acl');
    await writeFile(acl, `topic readwrite #\ntopic deny ${topics.ack(deviceId)}\n`);
    rig = await DeviceRig.start({
      deviceId,
      sensor: false,
      mqtthandler: false,
      brokerConfig: `acl_file ${acl}\n`,
    });
    const r = rig;
    await r.preload(stored);
    await r.startMqtthandler();
    await waitFor('the first readings stored', 60_000, async () =>
      (await r.storedSummary()).rows >= stored ? true : `${(await r.storedSummary()).rows} stored`,
    );
    await r.mqtthandler!.stop();
    await r.preload(lost);
    await r.measuring.setRunning(false, 'local');
    const total = stored + lost;
    await r.redis.set(r.keys.sentMax, String(total));
    for (const [id, fields] of await r.redis.xrange(r.keys.outbox, '-', '+')) {
      const seq = Number(id.slice(0, id.indexOf('-')));
      await r.redis
        .multi()
        .xdel(r.keys.outbox, id)
        .zadd(r.keys.dropsUnconfirmed, seq, `${seq} ${fields[1]}`)
        .exec();
    }
    expect(await r.outbox.stats()).toMatchObject({ backlog: 0, dropped: 0, dropsUnconfirmed: total });
    const stubs = await r.redis.zrange(r.keys.dropsUnconfirmed, '0', '-1');
    await r.broker.stop();
    await writeFile(acl, 'topic readwrite #\n');
    await r.broker.start();
    await r.startMqtthandler();
    return { r, stubs };
  }

  it('settles waiting stubs while measuring is stopped and the outbox is empty (a probe of its own)', async () => {
    const { r } = await idleWithStubs(20, 5);
    await waitFor('every dropped reading settled', 60_000, async () => {
      const s = await r.outbox.stats();
      return s.dropsUnconfirmed === 0 ? true : JSON.stringify(s);
    });
    const stored = await r.storedSummary();
    expect({ missing: 25 - stored.distinct, counted: (await r.outbox.stats()).dropped }).toEqual({
      missing: 5,
      counted: 5,
    });
    expect(await r.redis.xlen(r.keys.outbox)).toBe(0);
    await waitFor('the state to report the exact count', 30_000, async () => {
      const s = await r.retainedState();
      return s.dropped === 5 && s.dropsUnconfirmed === 0 ? true : JSON.stringify(s);
    });
  });

  it('re-checks drops counted on `unknown` after the ack timeout, and takes off those stored by then', async () => {
    const { r, stubs } = await idleWithStubs(20, 5);
    await waitFor('the unknown ones counted', 60_000, async () => {
      const s = await r.outbox.stats();
      return s.dropsUnconfirmed === 0 && s.dropped === 5 ? true : JSON.stringify(s);
    });
    expect(await r.redis.zcard(r.keys.dropsRecheck)).toBe(5);
    // Two of them were on their way after all: an earlier batch another replica commits only now (its
    // ack lost with the link). Written as the receiver writes a reading.
    for (const member of stubs.slice(20, 22)) {
      const [seq, ts] = member.split(' ') as [string, string];
      await r.db!.query(
        `INSERT INTO ${r.dbName}.readings (device_id, seq, sensor, value, measured_at) VALUES (?, ?, 'temperature', 20, ?)`,
        [r.deviceId, Number(seq), ts.replace('T', ' ').slice(0, 23)],
      );
    }
    // The rig's ack timeout (5 s) is the settle delay.
    await waitFor('the re-check answered', 60_000, async () => {
      const [s, rechecks] = await Promise.all([r.outbox.stats(), r.redis.zcard(r.keys.dropsRecheck)]);
      return rechecks === 0 ? true : `dropped ${s.dropped}, ${rechecks} to re-check`;
    });
    const stored = await r.storedSummary();
    expect({ missing: 25 - stored.distinct, counted: (await r.outbox.stats()).dropped }).toEqual({
      missing: 3,
      counted: 3,
    });
    // Still remembered, so a very late ack could take them off too.
    expect(await r.redis.zcard(r.keys.dropsCounted)).toBe(3);
  });
});
