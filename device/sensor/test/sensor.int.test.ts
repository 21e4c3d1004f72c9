import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger, MeasuringStateStore, OutboxStore } from '@sensorfleet/shared';
// The state the mqtthandler reports is where a sensor failure becomes visible to the backend.
import { RedisForwarderStore } from '@sensorfleet/mqtthandler/redis-forwarder-store';
import { collectState } from '@sensorfleet/mqtthandler/state-reporter';
import { DeviceRig, RedisServer, sleep, waitFor } from '@sensorfleet/tools/harness';
import { MeasurementLoop, type LoopMetrics } from '../src/measurement-loop.js';
import { RedisOutboxAppender } from '../src/redis-outbox-appender.js';
import { SensorStatusStore } from '../src/sensor-status-store.js';
import { Bme280Source } from '../src/sources/bme280-source.js';
import type { SensorSource } from '../src/sources/sensor-source.js';
import { Bme280Emulator } from './support/bme280-emulator.js';
import { DATASHEET_CALIBRATION, DATASHEET_RAW } from './support/datasheet-example.js';

/**
 * The sensor's way into the outbox with real Redis: the BME280 driver against the register emulator
 * (unplugged and replugged), the bounded outbox, and a device clock that jumps backwards.
 */
const log = createLogger('test', 'silent', { pretty: false });
const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn().catch(() => {});
});

function counters() {
  const c = { taken: 0, dropped: 0, sensorErrors: 0, redisErrors: 0, lost: 0, clockJumps: 0 };
  const metrics: LoopMetrics = {
    readingsTaken: () => c.taken++,
    readingsDropped: (n) => (c.dropped += n),
    sensorErrors: () => c.sensorErrors++,
    redisErrors: () => c.redisErrors++,
    pendingAppends: () => {},
    redisLostAppends: (n) => (c.lost += n),
    clockJumps: () => c.clockJumps++,
  };
  return { c, metrics };
}

/** The sensor service's parts, in this process, on a given Redis. */
function sensorLoop(
  redis: Redis,
  source: SensorSource,
  clock = { now: () => Date.now(), monotonic: () => performance.now() },
) {
  const outbox = new OutboxStore(redis);
  const measuring = new MeasuringStateStore(redis, { running: true, intervalMs: 100 });
  const statusStore = new SensorStatusStore(redis);
  const { c, metrics } = counters();
  const loop = new MeasurementLoop({
    source,
    outbox: new RedisOutboxAppender(redis, outbox),
    state: measuring,
    statusStore,
    bounds: { maxReadings: 0, maxAgeMs: 0 },
    clock,
    log,
    metrics,
  });
  cleanup.push(() => loop.stop());
  return { loop, outbox, measuring, statusStore, counts: c };
}

const CALIBRATION = DATASHEET_CALIBRATION;
const RAW = DATASHEET_RAW;

describe('the sensor service into the real Redis outbox', () => {
  it('stores compensated BME280 values; an unplugged chip is an error with no values; replugged it resumes', async () => {
    const server = await RedisServer.start();
    cleanup.push(() => server.destroy());
    const redis = new Redis(server.url, { maxRetriesPerRequest: 1 });
    cleanup.push(async () => redis.disconnect());
    const chip = new Bme280Emulator({ calibration: CALIBRATION, raw: RAW });
    const source = new Bme280Source(chip, 0x76, { retryDelayMs: 5, busName: '/dev/i2c-1 (emulated)' });
    const { loop, outbox, statusStore, counts } = sensorLoop(redis, source);
    const state = () =>
      collectState({
        outbox,
        measuring: new MeasuringStateStore(redis, { running: true, intervalMs: 100 }),
        redis,
        seqConflicts: () => new RedisForwarderStore(redis, outbox).seqConflicts(),
        version: 'test',
        startedMonotonicMs: performance.now(),
      });

    await loop.start();
    await sleep(550);
    const first = await outbox.readRange(0, '+', 1000);
    expect(first.length).toBeGreaterThanOrEqual(4);
    for (const r of first) {
      expect(r.values.temperature).toBe(25.08);
      expect(r.values.humidity).toBeCloseTo(55.01, 2);
      expect(r.values.pressure).toBeCloseTo(1006.5327, 4); // 100653.27 Pa, datasheet section 8.1
    }
    expect((await state()).sensor).toMatchObject({ status: 'ok', driver: 'bme280', model: 'BME280' });

    chip.unplug();
    await sleep(300);
    const atUnplug = await outbox.lastSeq();
    await sleep(700);
    expect(await outbox.lastSeq()).toBe(atUnplug); // no values while the chip is gone
    const broken = await statusStore.read();
    expect(broken).toMatchObject({ status: 'error', lastError: expect.stringMatching(/EIO/) as string });
    expect(broken?.errors).toBeGreaterThanOrEqual(3);
    expect(counts.sensorErrors).toBe(broken?.errors);
    expect((await state()).sensor).toMatchObject({ status: 'error' });

    chip.replug(); // power-cycled: configuration lost, the driver re-initialises it
    await sleep(500);
    expect(await outbox.lastSeq()).toBeGreaterThan(atUnplug + 2);
    const resumed = await outbox.readRange(atUnplug, '+', 1000);
    expect(resumed.every((r) => r.values.temperature === 25.08 && r.values.humidity !== undefined)).toBe(
      true,
    );
    expect((await state()).sensor).toMatchObject({ status: 'ok' });
  });

  it('bounds the outbox: the oldest readings are dropped, exactly appended − cap, and reported', async () => {
    const rig = await DeviceRig.start({
      backend: false,
      sensor: { SENSOR_INTERVAL_MS: '10', OUTBOX_MAX_READINGS: '200' },
    });
    cleanup.push(() => rig.close());
    // nobody acks (no backend): every reading stays until the bound pushes it out. The mqtthandler sent
    // them all (the broker took them), so none is counted as lost before a backend says it lacks it.
    await waitFor('500 readings', 30_000, async () =>
      (await rig.outbox.lastSeq()) >= 500 ? true : 'measuring',
    );
    const appended = await rig.stopMeasuring();
    const stats = await rig.outbox.stats();
    expect(stats.backlog).toBe(200);
    expect(stats.dropped + stats.dropsUnconfirmed).toBe(appended - 200);
    expect(stats.oldestSeq).toBe(appended - 199); // oldest first
    expect(await rig.metric(rig.sensor!, 'sensorfleet_outbox_dropped_total')).toBe(appended - 200);
    await waitFor('the state to report the drops', 15_000, async () => {
      const s = await rig.retainedState();
      const removed = Number(s.dropped) + Number(s.dropsUnconfirmed);
      return removed === appended - 200 && s.running === false ? true : JSON.stringify(s);
    });
  });

  it('gives readings after a backwards clock jump earlier timestamps but increasing seqs, all stored in seq order', async () => {
    const rig = await DeviceRig.start({ sensor: false });
    cleanup.push(() => rig.close());
    let offset = 0;
    let n = 0;
    const source: SensorSource = {
      kind: 'simulated',
      open: async () => ({ model: 'counter', channels: ['temperature'] }),
      read: async () => ({ temperature: ++n }),
      close: async () => {},
    };
    await rig.measuring.setInterval(50, 'local');
    const { loop } = sensorLoop(rig.redis, source, {
      now: () => Date.now() + offset,
      monotonic: () => performance.now(),
    });
    await loop.start();
    await sleep(1000);
    const jumpedAfter = await rig.outbox.lastSeq();
    offset = -3_600_000; // NTP correction, or an RTC-less board that booted with a stale clock
    await sleep(1000);
    await loop.stop();
    const lastSeq = await rig.outbox.lastSeq();
    expect(lastSeq - jumpedAfter).toBeGreaterThanOrEqual(10); // measuring went on after the jump
    await rig.settle(lastSeq);
    const stored = await rig.storedReadings();
    expect(stored.map((r) => r.seq)).toEqual(Array.from({ length: lastSeq }, (_, i) => i + 1));
    const backwards = stored.filter((r, i) => i > 0 && r.measuredMs < stored[i - 1]!.measuredMs);
    expect(backwards.map((r) => r.seq)).toEqual([jumpedAfter + 1]);
    expect(stored[jumpedAfter - 1]!.measuredMs - stored[jumpedAfter]!.measuredMs).toBeGreaterThan(3_500_000);
  });
});
