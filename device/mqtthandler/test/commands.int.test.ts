import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topics, type CommandResult, type Reading } from '@sensorfleet/shared';
import { DeviceRig, sleep, waitFor } from '@sensorfleet/tools/harness';

/**
 * Remote commands over real MQTT (DESIGN.md "Commands"): the mqtthandler answers every input on
 * devices/{id}/commands/result, and a start/stop/set_interval reaches the real sensor process within one
 * interval (it listens on the measuring-changed channel).
 */
const INTERVAL_MS = 1000;
let rig: DeviceRig;
let client: MqttClient;
const results: CommandResult[] = [];

beforeAll(async () => {
  rig = await DeviceRig.start({ backend: false, sensor: { SENSOR_INTERVAL_MS: String(INTERVAL_MS) } });
  client = await rig.client();
  client.on('message', (topic, payload) => {
    if (topic === topics.commandResult(rig.deviceId))
      results.push(JSON.parse(payload.toString()) as CommandResult);
  });
  await client.subscribeAsync(topics.commandResult(rig.deviceId), { qos: 1 });
});

afterAll(async () => {
  await client?.endAsync();
  await rig?.close();
});

let seen = 0;
/** Publishes a command (an object, or raw text) and returns the next result. */
async function send(command: unknown): Promise<CommandResult> {
  const payload = typeof command === 'string' ? command : JSON.stringify(command);
  const before = results.length;
  await client.publishAsync(topics.commands(rig.deviceId), payload, { qos: 1 });
  await waitFor('a command result', 10_000, async () => (results.length > before ? true : 'waiting'));
  seen = results.length;
  return results[before]!;
}

/** Outbox readings measured at or after `sinceMs` (nothing acks them here, so they stay). */
async function readingsSince(sinceMs: number): Promise<Reading[]> {
  const all = await rig.outbox.readRange(0, '+', 100_000);
  return all.filter((r) => Date.parse(r.ts) >= sinceMs);
}

let id = 0;
const nextId = () => `cmd-${++id}-${Date.now()}`;

describe('commands over MQTT to the real device services', () => {
  it('stop takes effect within one interval: no reading measured after it', async () => {
    await waitFor('readings', 10_000, async () => ((await readingsSince(0)).length >= 2 ? true : 'starting'));
    const sentAt = Date.now();
    expect(await send({ id: nextId(), command: 'stop' })).toMatchObject({
      ok: true,
      result: { running: false, intervalMs: INTERVAL_MS },
    });
    await sleep(2.5 * INTERVAL_MS);
    expect(await readingsSince(sentAt + INTERVAL_MS)).toEqual([]);
  });

  it('start takes effect within one interval', async () => {
    const sentAt = Date.now();
    expect(await send({ id: nextId(), command: 'start' })).toMatchObject({
      ok: true,
      result: { running: true },
    });
    await waitFor('the first reading after start', INTERVAL_MS, async () =>
      (await readingsSince(sentAt)).length > 0 ? true : 'no reading yet',
    );
  });

  it('set_interval changes the sensor’s cadence within one interval', async () => {
    const sentAt = Date.now();
    expect(await send({ id: nextId(), command: 'set_interval', intervalMs: 200 })).toEqual({
      id: expect.any(String) as string,
      ok: true,
      result: { running: true, intervalMs: 200 },
    });
    await sleep(INTERVAL_MS + 2000);
    const after = (await readingsSince(sentAt + INTERVAL_MS)).map((r) => Date.parse(r.ts));
    const gaps = after.slice(1).map((t, i) => t - after[i]!);
    expect(after.length).toBeGreaterThanOrEqual(9);
    const median = [...gaps].sort((a, b) => a - b)[Math.floor(gaps.length / 2)]!;
    expect(median).toBeGreaterThanOrEqual(190);
    expect(median).toBeLessThanOrEqual(230);
    await send({ id: nextId(), command: 'set_interval', intervalMs: INTERVAL_MS });
  });

  it('reports the new state, retained, after a command', async () => {
    await send({ id: nextId(), command: 'stop' });
    await waitFor('the retained state', 10_000, async () => {
      const s = await rig.retainedState();
      return s.running === false && s.intervalMs === INTERVAL_MS ? true : JSON.stringify(s);
    });
    const state = await rig.retainedState();
    expect(state).toMatchObject({ v: 1, backlog: expect.any(Number) as number, dropped: 0, seqConflicts: 0 });
    expect(state.sensor).toMatchObject({ status: 'stopped', driver: 'simulated' });
    expect(typeof state.version).toBe('string');
    expect(state.uptimeS).toBeGreaterThan(0);
    await send({ id: nextId(), command: 'start' });
  });

  it('answers ping and status', async () => {
    const ping = await send({ id: 'ping-1', command: 'ping' });
    expect(ping).toMatchObject({ id: 'ping-1', ok: true, result: { pong: true } });
    const status = await send({ id: 'status-1', command: 'status' });
    expect(status).toMatchObject({
      id: 'status-1',
      ok: true,
      result: { running: true, intervalMs: INTERVAL_MS, lastSeq: expect.any(Number) as number },
    });
  });

  it('refuses an expired command and runs one that has not expired', async () => {
    expect(
      await send({ id: 'exp-1', command: 'stop', expiresAt: new Date(Date.now() - 1000).toISOString() }),
    ).toEqual({ id: 'exp-1', ok: false, error: expect.stringMatching(/^command expired at /) as string });
    expect((await rig.measuring.get()).running).toBe(true);
    expect(
      await send({ id: 'exp-2', command: 'ping', expiresAt: new Date(Date.now() + 60_000).toISOString() }),
    ).toMatchObject({ ok: true });
  });

  it('answers a repeated command id again without executing it twice', async () => {
    const first = await send({ id: 'once', command: 'stop' });
    await send({ id: nextId(), command: 'start' });
    const again = await send({ id: 'once', command: 'stop' });
    expect(again).toEqual(first);
    // the repeat did not stop measuring again
    expect((await rig.measuring.get()).running).toBe(true);
  });

  it('refuses unknown commands, bad arguments, malformed JSON and oversized payloads with a clear error', async () => {
    expect(await send({ id: 'u1', command: 'reboot' })).toEqual({
      id: 'u1',
      ok: false,
      error: 'unknown command "reboot"; known: start, stop, set_interval, ping, status',
    });
    expect(await send({ id: 'b1', command: 'set_interval', intervalMs: 5 })).toMatchObject({
      id: 'b1',
      ok: false,
      error: expect.stringMatching(/^bad arguments for set_interval: \/intervalMs/) as string,
    });
    expect(await send({ id: 'b2', command: 'set_interval', interval: 500 })).toMatchObject({
      ok: false,
      error: expect.stringMatching(/unknown "interval"; expected intervalMs/) as string,
    });
    expect(await send('{"id":"m1","command":"stop"')).toMatchObject({
      id: 'unknown',
      ok: false,
      error: expect.stringMatching(/^invalid command: malformed JSON/) as string,
    });
    expect(await send({ command: 'stop' })).toMatchObject({
      ok: false,
      error: expect.stringMatching(/^invalid command: /) as string,
    });
    expect(await send({ id: 'big', command: 'ping', pad: 'x'.repeat(20_000) })).toMatchObject({
      id: 'unknown',
      ok: false,
      error: expect.stringMatching(/exceeds the limit of 16384/) as string,
    });
    // none of it changed anything, and the handler is still alive
    expect(await rig.measuring.get()).toMatchObject({ running: true, intervalMs: INTERVAL_MS });
    expect(await send({ id: 'alive', command: 'ping' })).toMatchObject({ ok: true });
    expect(seen).toBe(results.length);
  });

  it('is online (retained) while connected, and offline through the last will when killed', async () => {
    const online = async () => {
      const c = await rig.client();
      try {
        const got = new Promise<string>((resolve) => c.on('message', (_t, p) => resolve(p.toString())));
        await c.subscribeAsync(topics.online(rig.deviceId), { qos: 1 });
        return await Promise.race([got, sleep(5000).then(() => 'none')]);
      } finally {
        await c.endAsync();
      }
    };
    expect(await online()).toBe('true');
    await rig.mqtthandler!.kill();
    await waitFor('the will', 10_000, async () => ((await online()) === 'false' ? true : 'still online'));
    await rig.mqtthandler!.start();
    await waitFor('online again', 10_000, async () => ((await online()) === 'true' ? true : 'offline'));
  });
});
