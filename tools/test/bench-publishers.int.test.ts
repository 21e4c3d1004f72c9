import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseTopic, topicFilters, topics } from '@sensorfleet/shared';
import { MosquittoServer } from '@sensorfleet/tools/harness';
import { PublisherFleet, type FleetOptions } from '../src/bench/publishers.js';
import { deviceIds, telemetryPayload } from '../src/bench/telemetry.js';

/**
 * The bench's simulated devices against a real Mosquitto, the test playing the backend: it checks each
 * telemetry message against the reference payload and acks its seqs on `devices/{id}/ack`.
 */

let broker: MosquittoServer;
const backends: MqttClient[] = [];
const fleets: PublisherFleet[] = [];

beforeAll(async () => {
  broker = await MosquittoServer.start();
});

afterEach(async () => {
  await Promise.allSettled(fleets.splice(0).map((f) => f.close()));
  await Promise.allSettled(backends.splice(0).map((c) => c.endAsync(true)));
});

afterAll(async () => {
  await broker?.destroy();
});

interface Backend {
  /** Per device: the seqs of each message received, in arrival order. */
  messages: Map<string, number[][]>;
  /** Payloads that differ from telemetryPayload's for the same seqs. */
  mismatches: string[];
}

async function backend(baseMs: number, opts: { ack: boolean }): Promise<Backend> {
  const client = await connectAsync(broker.url, { clientId: `backend-${Date.now()}`, reconnectPeriod: 0 });
  backends.push(client);
  const state: Backend = { messages: new Map(), mismatches: [] };
  client.on('message', (topic, payload) => {
    const id = parseTopic(topic)!.deviceId;
    const seqs = (JSON.parse(payload.toString()) as { readings: { seq: number }[] }).readings.map(
      (r) => r.seq,
    );
    const from = seqs[0]!;
    const to = seqs[seqs.length - 1]!;
    if (payload.toString() !== telemetryPayload(baseMs, from, seqs.length)) state.mismatches.push(topic);
    state.messages.set(id, [...(state.messages.get(id) ?? []), seqs]);
    if (opts.ack) client.publish(topics.ack(id), JSON.stringify({ v: 1, ranges: [[from, to]] }), { qos: 1 });
  });
  await client.subscribeAsync(topicFilters.telemetry, { qos: 1 });
  return state;
}

function options(overrides: Partial<FleetOptions>): FleetOptions {
  return {
    brokerUrl: broker.url,
    deviceIds: deviceIds(3),
    readingsPerDevice: 20,
    readingsPerMessage: 1,
    window: 5,
    connections: 3,
    baseMs: Date.UTC(2026, 10, 23, 10, 0, 0, 250),
    ackTimeoutMs: 30_000,
    ...overrides,
  };
}

async function connect(opts: FleetOptions): Promise<PublisherFleet> {
  const fleet = await PublisherFleet.connect(opts);
  fleets.push(fleet);
  return fleet;
}

describe('PublisherFleet', () => {
  it('publishes every reading once, within the window, and completes on the acks', async () => {
    const opts = options({});
    const seen = await backend(opts.baseMs, { ack: true });
    const fleet = await connect(opts);
    const result = await fleet.run(30_000);
    expect(result).toMatchObject({
      complete: true,
      readings: 60,
      ackedReadings: 60,
      messages: 60,
      resentMessages: 0,
      publishErrors: 0,
    });
    expect(result.connectionError).toBeUndefined();
    expect(result.ackLatenciesMs).toHaveLength(60);
    expect(result.finishedAt).toBeGreaterThanOrEqual(result.startedAt);
    expect(seen.mismatches).toEqual([]);
    expect([...seen.messages.keys()].sort()).toEqual(opts.deviceIds);
    for (const seqs of seen.messages.values()) {
      expect(seqs).toEqual(Array.from({ length: 20 }, (_, i) => [i + 1]));
    }
  });

  it('packs several readings per message and shares connections between devices', async () => {
    const opts = options({ readingsPerDevice: 23, readingsPerMessage: 5, window: 10, connections: 2 });
    const seen = await backend(opts.baseMs, { ack: true });
    const fleet = await connect(opts);
    const result = await fleet.run(30_000);
    // 23 readings in messages of 5: four full ones and one of 3, per device.
    expect(result).toMatchObject({ complete: true, readings: 69, ackedReadings: 69, messages: 15 });
    expect(result.resentMessages).toBe(0);
    expect(seen.mismatches).toEqual([]);
    for (const seqs of seen.messages.values()) {
      expect(seqs.map((s) => [s[0], s.length])).toEqual([
        [1, 5],
        [6, 5],
        [11, 5],
        [16, 5],
        [21, 3],
      ]);
    }
  });

  it('stops at the window without acks, then resends everything unacked after the ack timeout', async () => {
    const opts = options({ deviceIds: deviceIds(1), connections: 1, ackTimeoutMs: 1000 });
    const seen = await backend(opts.baseMs, { ack: false });
    const fleet = await connect(opts);
    const result = await fleet.run(2600);
    expect(result).toMatchObject({ complete: false, ackedReadings: 0, messages: 5, publishErrors: 0 });
    // The watchdog ticks each second: one or two resends of the whole window in 2.6 s.
    expect([5, 10]).toContain(result.resentMessages);
    const seqs = seen.messages.get(opts.deviceIds[0]!)!;
    expect(seqs.slice(0, 5)).toEqual([[1], [2], [3], [4], [5]]);
    expect(seqs.slice(5, 10)).toEqual([[1], [2], [3], [4], [5]]);
  });

  it('ends run() early and counts the publishes a lost connection took with it', async () => {
    const own = await MosquittoServer.start();
    try {
      // One connection: run() returns when the first connection is lost, before the others report.
      const opts = options({ brokerUrl: own.url, connections: 1, ackTimeoutMs: 60_000 });
      const fleet = await connect(opts);
      // A frozen broker takes the publishes into its socket buffer but PUBACKs none of them.
      process.kill(own.pid!, 'SIGSTOP');
      const started = Date.now();
      const running = fleet.run(60_000);
      await new Promise((r) => setTimeout(r, 200));
      await own.kill();
      const result = await running;
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(result.complete).toBe(false);
      expect(result.connectionError).toMatch(/ECONNRESET|connection closed by the broker/);
      // 3 devices × a window of 5 one-reading messages.
      expect(result.messages).toBe(15);
      expect(result.publishErrors).toBe(15);
    } finally {
      await own.destroy();
    }
  });
});
