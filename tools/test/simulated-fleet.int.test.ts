import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createLogger, MeasuringStateStore, OutboxStore } from '@sensorfleet/shared';
import { SimulatedFleet } from '../src/fleet/simulated-fleet.js';
import { MosquittoServer, RedisServer, sleep, waitFor } from '../src/harness/index.js';

/**
 * The simulator's devices against a real broker and Redis, with no backend behind the broker: nothing is
 * acked, so every reading stays in its device's outbox and the outboxes say what each device measured.
 */
let broker: MosquittoServer;
let redisServer: RedisServer;
let redis: Redis;
let fleet: SimulatedFleet | undefined;
const ids = ['sim-1', 'sim-2', 'sim-3'];
const INTERVAL_MS = 100;

beforeAll(async () => {
  [broker, redisServer] = await Promise.all([MosquittoServer.start(), RedisServer.start()]);
  redis = new Redis(redisServer.url);
  fleet = new SimulatedFleet({
    devices: ids.map((id) => ({ id })),
    url: broker.url,
    redisUrl: redisServer.url,
    intervalMs: INTERVAL_MS,
    log: createLogger('fleet-test', 'warn'),
  });
  await fleet.start();
});
afterAll(async () => {
  await fleet?.stop();
  redis?.disconnect();
  await Promise.all([broker?.destroy(), redisServer?.destroy()]);
});

const outboxOf = (id: string) => new OutboxStore(redis, `fleet:${id}:`);

it('measures for every device into its own outbox, at its interval, and sums the outboxes in its stats', async () => {
  await waitFor('every device connected', 10_000, async () => (await fleet!.stats()).connected === 3);
  const before = await Promise.all(ids.map((id) => outboxOf(id).lastSeq()));
  await sleep(1000);
  const after = await Promise.all(ids.map((id) => outboxOf(id).lastSeq()));
  // 10 readings a second each; a loaded machine may lose a few to late timers, never gain any.
  for (let i = 0; i < ids.length; i++) {
    expect(after[i]! - before[i]!).toBeGreaterThanOrEqual(5);
    expect(after[i]! - before[i]!).toBeLessThanOrEqual(11);
  }
  const stats = await fleet!.stats();
  const lens = await Promise.all(ids.map((id) => redis.xlen(outboxOf(id).keys.outbox)));
  expect(stats.backlog).toBe(lens.reduce((a, b) => a + b, 0));
  expect(stats.backlog).toBeGreaterThan(0);
  expect(stats.acked).toBe(0);
});

it('stops measuring for a device told to stop (the `stop` command’s state), the others go on', async () => {
  const measuring = new MeasuringStateStore(
    redis,
    { running: true, intervalMs: INTERVAL_MS },
    'fleet:sim-2:',
  );
  await measuring.setRunning(false, 'command');
  await sleep(300); // the change is published; the device re-reads its state
  const stopped = await outboxOf('sim-2').lastSeq();
  const other = await outboxOf('sim-1').lastSeq();
  await sleep(700);
  expect(await outboxOf('sim-2').lastSeq()).toBe(stopped);
  expect(await outboxOf('sim-1').lastSeq()).toBeGreaterThan(other + 3);
  await measuring.setRunning(true, 'command');
  await waitFor('sim-2 measuring again', 5000, async () => (await outboxOf('sim-2').lastSeq()) > stopped);
});
