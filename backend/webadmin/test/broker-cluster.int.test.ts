import type { AddressInfo } from 'node:net';
import { createLogger, parseEnv } from '@sensorfleet/shared';
import { MariaDbServer, RabbitMqCluster } from '@sensorfleet/tools/harness';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { hashPassword } from '../src/auth/passwords.js';
import { UserStore } from '../src/auth/user-store.js';
import { webadminEnv } from '../src/config.js';
import { createWebadmin, type Webadmin } from '../src/webadmin-service.js';
import { answerCommands, commandAnswered, ORIGIN, signIn, waitFor } from './support/webadmin-rig.js';

/**
 * The web admin on a 3-node RabbitMQ cluster (MQTT_URL lists the nodes, node 1 first): with node 1
 * killed -9 it moves to another node, subscribes there, and live readings, commands and results flow
 * again, and pages are told to refetch what changed in the gap (presence on the cluster is live only:
 * RabbitMQ 3.10 hands no retained messages to wildcard subscriptions). One cluster for the whole file
 * (it takes the longest to start).
 */
let cluster: RabbitMqCluster;
let db: MariaDbServer;
let web: Webadmin;
let device: MqttClient;
let base: string;
const sockets: WebSocket[] = [];
const commandsSeen: string[] = [];
let seq = 0;
let telemetryTimer: NodeJS.Timeout | undefined;

beforeAll(async () => {
  [cluster, db] = await Promise.all([
    RabbitMqCluster.start({ nodes: 3, quorumSessionQueues: true }),
    MariaDbServer.start(),
  ]);
  const { username, password } = cluster.admin;
  const config = parseEnv(webadminEnv, {
    DATABASE_URL: await db.createDatabase(),
    MQTT_URL: cluster.mqttUrls,
    MQTT_USERNAME: username,
    MQTT_PASSWORD: password,
    MQTT_RECONNECT_MIN_MS: '200',
    MQTT_RECONNECT_MAX_MS: '2000',
    PUBLIC_URL: ORIGIN,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn',
    COMMAND_POLL_INTERVAL: '300ms',
    LIVE_CHANGE_POLL: '200ms',
  });
  web = await createWebadmin(config, createLogger('webadmin', config.LOG_LEVEL, { pretty: false }));
  for (const c of web.components) await c.start();
  await web.app.ready();
  await web.app.listen({ port: 0, host: '127.0.0.1' });
  base = `ws://127.0.0.1:${(web.app.server.address() as AddressInfo).port}/ws`;
  await new UserStore(web.pool).add('op', await hashPassword('pw-op-secret'), 'operator');
  await web.pool.query(
    'INSERT INTO devices (id, online, last_seen, first_seen) VALUES (?, 1, NOW(3), NOW(3))',
    ['dev-1'],
  );

  // The device as devices on the cluster run: a persistent session, on node 3 (never killed here).
  device = await mqtt.connectAsync(cluster.nodes[2]!.mqttUrl, {
    clientId: 'dev-1',
    clean: false,
    username,
    password,
    reconnectPeriod: 500,
  });
  answerCommands(device, 'dev-1', commandsSeen);
  await device.subscribeAsync('devices/dev-1/commands', { qos: 1 });
  telemetryTimer = setInterval(() => {
    seq++;
    const reading = { seq, ts: new Date().toISOString(), values: { temperature: 20 + (seq % 10) / 10 } };
    device.publish('devices/dev-1/telemetry', JSON.stringify({ v: 1, readings: [reading] }), { qos: 1 });
  }, 100);
  await waitFor('the web admin on the broker', 30_000, async () => web.broker.connected);
}, 300_000);

afterAll(async () => {
  clearInterval(telemetryTimer);
  for (const s of sockets) s.terminate();
  await device?.endAsync(true).catch(() => undefined);
  if (web) {
    await web.app.close().catch(() => undefined);
    for (const c of [...web.components].reverse()) await c.stop().catch(() => undefined);
  }
  await db?.stop();
  await cluster?.destroy();
});

function openSocket(cookie: string): Promise<{ ws: WebSocket; frames: Record<string, unknown>[] }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(base, { headers: { cookie, origin: ORIGIN } });
    sockets.push(ws);
    const frames: Record<string, unknown>[] = [];
    ws.on('message', (d) => frames.push(JSON.parse(String(d)) as Record<string, unknown>));
    ws.once('open', () => resolve({ ws, frames }));
    ws.once('error', reject);
  });
}

const readingSeqs = (frames: Record<string, unknown>[]) =>
  frames.filter((f) => f.type === 'reading' && f.deviceId === 'dev-1').map((f) => f.seq as number);

describe('web admin on a RabbitMQ cluster', { timeout: 180_000 }, () => {
  it('moves to another node when its node is killed -9: live readings, commands and results go on', async () => {
    const login = await signIn(web.app, 'op');
    const { ws, frames } = await openSocket(login.cookie);
    ws.send(JSON.stringify({ subscribe: ['dev-1'] }));
    await waitFor('live readings before the kill', 20_000, async () => readingSeqs(frames).length > 0);
    expect(web.broker.url).toBe(cluster.nodes[0]!.mqttUrl);

    const killedAt = Date.now();
    const seqAtKill = seq;
    await cluster.nodes[0]!.kill();
    await waitFor(
      'the web admin subscribed on another node',
      60_000,
      async () => web.broker.connected && web.broker.url !== cluster.nodes[0]!.mqttUrl,
    );
    const resubscribedMs = Date.now() - killedAt;
    // The next node of the list, under a new client id: the old id's subscription queue is on the dead
    // node, and RabbitMQ closes a connection that subscribes with it anywhere else.
    expect(web.broker.url).toBe(cluster.nodes[1]!.mqttUrl);
    await waitFor('a live reading sent after the kill', 30_000, async () =>
      readingSeqs(frames).some((s) => s > seqAtKill),
    );
    const liveAgainMs = Date.now() - killedAt;
    // Pages are told to refetch what they show: changes during the gap were not seen live.
    expect(frames.some((f) => f.type === 'dropped')).toBe(true);

    const id = await commandAnswered(web.app, login, 'dev-1', 30_000);
    const commandMs = Date.now() - killedAt;
    expect(commandsSeen).toContain(id);

    console.log(
      `[broker-cluster] web admin node killed -9: subscribed on ${web.broker.url} after ${resubscribedMs} ms, ` +
        `live reading at the socket after ${liveAgainMs} ms, command answered after ${commandMs} ms`,
    );
  });
});
