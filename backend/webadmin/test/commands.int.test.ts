import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sleep, waitFor, WebadminRig, type Login } from './support/webadmin-rig.js';

/**
 * Desired state against real Mosquitto and MariaDB, with two replicas: a simulated device (an MQTT client
 * that answers like the real command router) comes and goes.
 */
let rig: WebadminRig;
let op: Login;
const devices: MqttClient[] = [];

beforeAll(async () => {
  rig = await WebadminRig.start({ replicas: 2 });
  await rig.addUser('op', 'operator');
  op = await rig.login('op');
});
afterAll(async () => {
  await Promise.allSettled(devices.map((d) => d.endAsync(true)));
  await rig?.close();
});

/** A device: receives its commands, answers each (by id: a repeat gets the same answer, as the real one). */
async function device(id: string, opts: { answer?: boolean } = {}) {
  const received: { id: string; command: string; expiresAt?: string; [k: string]: unknown }[] = [];
  const client = await mqtt.connectAsync(rig.broker.url, {
    clientId: `dev-${id}-${Math.random().toString(36).slice(2, 6)}`,
  });
  devices.push(client);
  client.on('message', (topic, payload) => {
    if (!topic.endsWith('/commands')) return;
    const cmd = JSON.parse(payload.toString()) as (typeof received)[number];
    received.push(cmd);
    if (opts.answer !== false) {
      const expired = cmd.expiresAt && Date.parse(cmd.expiresAt) <= Date.now();
      const result = expired
        ? { id: cmd.id, ok: false, error: `command expired at ${cmd.expiresAt}` }
        : { id: cmd.id, ok: true, result: { running: cmd.command !== 'stop' } };
      void client.publishAsync(`devices/${id}/commands/result`, JSON.stringify(result), { qos: 1 });
    }
  });
  await client.subscribeAsync(`devices/${id}/commands`, { qos: 1 });
  return {
    received,
    client,
    online: async () => {
      await rig.query('UPDATE devices SET online = 1 WHERE id = ?', [id]);
      await client.publishAsync(`devices/${id}/online`, 'true', { qos: 1, retain: true });
    },
    offline: async () => {
      await rig.query('UPDATE devices SET online = 0 WHERE id = ?', [id]);
      await client.publishAsync(`devices/${id}/online`, 'false', { qos: 1, retain: true });
    },
  };
}

async function send(deviceId: string, body: object, replica = 0) {
  const login = replica === 0 ? op : await rig.login('op', undefined, replica);
  const r = await rig.replicas[replica]!.app.inject({
    method: 'POST',
    url: `/api/devices/${deviceId}/commands`,
    headers: WebadminRig.browser(login),
    payload: body,
  });
  expect(r.statusCode, r.body).toBe(202);
  return r.json() as { id: string; status: string };
}

async function status(id: string) {
  const r = await rig.app.inject({ url: `/api/commands/${id}`, headers: { cookie: op.cookie } });
  return r.json() as {
    status: string;
    sentAt: string | null;
    completedAt: string | null;
    result: unknown;
    error: string | null;
    createdBy: string;
  };
}

describe('commands that reach offline devices', () => {
  it('stays pending while the device is offline, is sent when it comes online, and succeeds on its result', async () => {
    await rig.addDevice('cmd-a', { online: false });
    const dev = await device('cmd-a');
    const accepted = await send('cmd-a', { command: 'stop' });
    expect(accepted.status).toBe('pending');
    await sleep(1200); // several publisher rounds
    expect((await status(accepted.id)).status).toBe('pending');
    expect(dev.received).toHaveLength(0);

    const t0 = Date.now();
    await dev.online();
    await waitFor(
      'the command to succeed',
      10_000,
      async () => (await status(accepted.id)).status === 'succeeded',
    );
    expect(Date.now() - t0).toBeLessThan(3000);
    const done = await status(accepted.id);
    expect(done).toMatchObject({ createdBy: 'op', result: { running: false }, error: null });
    expect(done.sentAt, JSON.stringify(done)).not.toBeNull();
    expect(done.completedAt, JSON.stringify(done)).not.toBeNull();
    expect(dev.received.map((c) => [c.id, c.command])).toEqual([[accepted.id, 'stop']]);
    const audit = await rig.query<{ actor: string; target: string }>(
      "SELECT actor, target FROM audit_log WHERE action = 'command'",
    );
    expect(audit).toContainEqual({ actor: 'op', target: 'cmd-a' });
  });

  it('records a failure with the device error', async () => {
    await rig.addDevice('cmd-f', { online: true });
    const client = await mqtt.connectAsync(rig.broker.url);
    devices.push(client);
    client.on('message', (_t, p) => {
      const { id } = JSON.parse(p.toString()) as { id: string };
      void client.publishAsync(
        'devices/cmd-f/commands/result',
        JSON.stringify({ id, ok: false, error: 'sensor busy' }),
        { qos: 1 },
      );
    });
    await client.subscribeAsync('devices/cmd-f/commands', { qos: 1 });
    const { id } = await send('cmd-f', { command: 'set_interval', intervalMs: 5000 });
    await waitFor('failed', 10_000, async () => (await status(id)).status === 'failed');
    expect(await status(id)).toMatchObject({ error: 'sensor busy' });
  });

  it('expires a command the device did not get in time, and never delivers it later', async () => {
    await rig.addDevice('cmd-e', { online: false });
    const dev = await device('cmd-e');
    const { id } = await send('cmd-e', {
      command: 'ping',
      expiresAt: new Date(Date.now() + 1500).toISOString(),
    });
    await waitFor('expired', 10_000, async () => (await status(id)).status === 'expired');
    await dev.online();
    await sleep(1500);
    expect(dev.received).toHaveLength(0);
    expect((await status(id)).status).toBe('expired');
  });

  it('publishes each command exactly once with two replicas', async () => {
    await rig.addDevice('cmd-x', { online: false });
    const dev = await device('cmd-x');
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) ids.push((await send('cmd-x', { command: 'ping' }, i % 2)).id);
    await dev.online();
    await waitFor('all succeeded', 15_000, async () => {
      const rows = await rig.query<{ n: number }>(
        "SELECT COUNT(*) AS n FROM commands WHERE device_id = 'cmd-x' AND status = 'succeeded'",
      );
      return Number(rows[0]?.n) === 20;
    });
    await sleep(800);
    expect(dev.received.map((c) => c.id).sort()).toEqual([...ids].sort());
    // Delivered in the order they were sent.
    expect(dev.received.map((c) => c.id)).toEqual(ids);
  });

  it('records a result once whichever replica hears it, and ignores a repeated answer', async () => {
    await rig.addDevice('cmd-r', { online: true });
    const dev = await device('cmd-r', { answer: false });
    const { id } = await send('cmd-r', { command: 'status' });
    await waitFor('sent', 10_000, async () => (await status(id)).status === 'sent');
    const answer = JSON.stringify({ id, ok: true, result: { backlog: 0 } });
    await dev.client.publishAsync('devices/cmd-r/commands/result', answer, { qos: 1 });
    await waitFor('succeeded', 10_000, async () => (await status(id)).status === 'succeeded');
    const first = await status(id);
    await dev.client.publishAsync(
      'devices/cmd-r/commands/result',
      JSON.stringify({ id, ok: false, error: 'late' }),
      { qos: 1 },
    );
    await sleep(500);
    expect(await status(id)).toEqual(first);
    // Another device cannot answer for this one.
    const { id: other } = await send('cmd-r', { command: 'ping' });
    await waitFor('sent', 10_000, async () => (await status(other)).status === 'sent');
    await rig.mqttClient.publishAsync(
      'devices/someone-else/commands/result',
      JSON.stringify({ id: other, ok: true, result: {} }),
      { qos: 1 },
    );
    await sleep(500);
    expect((await status(other)).status).toBe('sent');
  });

  it('lists a device’s commands newest first with a cursor', async () => {
    const page1 = await rig.app.inject({
      url: '/api/devices/cmd-x/commands?limit=15',
      headers: { cookie: op.cookie },
    });
    const body1 = page1.json() as { commands: { id: string }[]; next: string };
    expect(body1.commands).toHaveLength(15);
    const page2 = await rig.app.inject({
      url: `/api/devices/cmd-x/commands?limit=15&cursor=${encodeURIComponent(body1.next)}`,
      headers: { cookie: op.cookie },
    });
    const body2 = page2.json() as { commands: { id: string }[]; next: string | null };
    expect(body2.commands).toHaveLength(5);
    expect(body2.next).toBeNull();
    expect(new Set([...body1.commands, ...body2.commands].map((c) => c.id)).size).toBe(20);
  });
});
