import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ApiTokenStore } from '../src/auth/api-token-store.js';
import { ORIGIN, waitFor, WebadminRig, type Login } from './support/webadmin-rig.js';

let rig: WebadminRig;
let viewer: Login;
let base: string;
const sockets: WebSocket[] = [];

beforeAll(async () => {
  rig = await WebadminRig.start();
  await rig.addUser('v', 'viewer');
  viewer = await rig.login('v');
  await rig.app.listen({ port: 0, host: '127.0.0.1' });
  base = `ws://127.0.0.1:${(rig.app.server.address() as AddressInfo).port}/ws`;
});
afterAll(async () => {
  for (const s of sockets) s.terminate();
  await rig?.close();
});

function connect(
  headers: Record<string, string>,
): Promise<{ ws: WebSocket; frames: Record<string, unknown>[]; binaryFrames: () => number }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(base, { headers });
    sockets.push(ws);
    const frames: Record<string, unknown>[] = [];
    let binary = 0;
    ws.on('message', (d, isBinary) => {
      if (isBinary) binary++;
      frames.push(JSON.parse(String(d)) as Record<string, unknown>);
    });
    ws.once('open', () => resolve({ ws, frames, binaryFrames: () => binary }));
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    ws.once('error', reject);
  });
}

describe('live WebSocket', () => {
  it('refuses a socket without a session, and one opened by a foreign page', async () => {
    await expect(connect({})).rejects.toThrow('HTTP 401');
    await expect(connect({ cookie: viewer.cookie, origin: 'https://evil.example' })).rejects.toThrow(
      'HTTP 403',
    );
  });

  it('delivers a reading published by a device within a second', async () => {
    const { ws, frames, binaryFrames } = await connect({ cookie: viewer.cookie, origin: ORIGIN });
    ws.send(JSON.stringify({ subscribe: ['live-1'] }));
    await waitFor('subscribed', 5000, async () => frames.some((f) => f.type === 'subscribed'));
    const ts = new Date().toISOString();
    const sent = Date.now();
    await rig.mqttClient.publishAsync(
      'devices/live-1/telemetry',
      JSON.stringify({ v: 1, readings: [{ seq: 42, ts, values: { temperature: 21.5 } }] }),
      { qos: 1 },
    );
    await rig.mqttClient.publishAsync(
      'devices/other/telemetry',
      JSON.stringify({ v: 1, readings: [{ seq: 1, ts, values: { temperature: 1 } }] }),
      { qos: 1 },
    );
    await waitFor('a reading', 5000, async () => frames.some((f) => f.type === 'reading'));
    expect(Date.now() - sent).toBeLessThan(1000);
    await new Promise((r) => setTimeout(r, 400));
    expect(frames.filter((f) => f.type === 'reading')).toEqual([
      { type: 'reading', deviceId: 'live-1', seq: 42, ts, values: { temperature: 21.5 } },
    ]);
    expect(binaryFrames()).toBe(0); // JSON text frames, as browsers' pages expect
  });

  it('takes a bearer token, and passes on online changes and command status changes', async () => {
    const token = (await new ApiTokenStore(rig.pool).create('v')).token;
    const { ws, frames } = await connect({ authorization: `Bearer ${token}` });
    ws.send(JSON.stringify({ subscribe: '*' }));
    await waitFor('subscribed', 5000, async () => frames.some((f) => f.type === 'subscribed'));
    await rig.mqttClient.publishAsync('devices/live-2/online', 'true', { qos: 1 });
    await rig.addDevice('live-2', { online: false });
    await rig.query(
      "INSERT INTO commands (id, device_id, command, args, status, created_at, expires_at, created_by) VALUES ('c-live', 'live-2', 'ping', '{}', 'pending', NOW(3), NOW(3) + INTERVAL 1 HOUR, 'v')",
    );
    await waitFor(
      'device and command frames',
      5000,
      async () => frames.some((f) => f.type === 'device') && frames.some((f) => f.type === 'command'),
    );
    expect(frames.find((f) => f.type === 'device')).toMatchObject({ deviceId: 'live-2', online: true });
    // Written straight into the table (as another replica would): the feed reads the table, not this process.
    const command = frames.find((f) => f.type === 'command') as { command: { id: string; status: string } };
    expect(command.command.id).toBe('c-live');
    expect(['pending', 'sent']).toContain(command.command.status);
  });

  it('answers a malformed subscription with an error frame', async () => {
    const { ws, frames } = await connect({ cookie: viewer.cookie });
    ws.send('{"subscribe": 5}');
    await waitFor('error', 5000, async () => frames.some((f) => f.type === 'error'));
  });
});
