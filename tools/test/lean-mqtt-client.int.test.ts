import { readFileSync } from 'node:fs';
import net from 'node:net';
import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { freePort, MosquittoServer, waitFor } from '@sensorfleet/tools/harness';
import { encodeTopic, LeanMqttClient } from '../src/bench/lean-mqtt-client.js';

/**
 * The bench's lean MQTT client against a real Mosquitto, with mqtt.js on the other end: what one
 * publishes the other receives byte for byte, and the broker's view of the QoS 1 handshakes drains.
 */

let broker: MosquittoServer;
const leans: LeanMqttClient[] = [];
const others: MqttClient[] = [];
let n = 0;

beforeAll(async () => {
  // A small broker-side window: a client that did not PUBACK would stall after 10 messages.
  broker = await MosquittoServer.start({
    extraConfig: 'max_inflight_messages 10\nmax_queued_messages 10000',
  });
});

afterEach(async () => {
  await Promise.allSettled(leans.splice(0).map((c) => c.end()));
  await Promise.allSettled(others.splice(0).map((c) => c.endAsync(true)));
});

afterAll(async () => {
  await broker?.destroy();
});

async function lean(clientId = `lean-${++n}`): Promise<LeanMqttClient> {
  const client = await LeanMqttClient.connect(broker.url, { clientId });
  leans.push(client);
  return client;
}

async function mqttjs(clientId = `mqttjs-${++n}`): Promise<MqttClient> {
  const client = await connectAsync(broker.url, { clientId, reconnectPeriod: 0, connectTimeout: 5000 });
  others.push(client);
  return client;
}

/** Resolves with the first `count` messages `client` receives. */
function receive(client: MqttClient, count: number): Promise<{ topic: string; payload: Buffer }[]> {
  const got: { topic: string; payload: Buffer }[] = [];
  return new Promise((resolve) => {
    client.on('message', (topic, payload) => {
      got.push({ topic, payload });
      if (got.length === count) resolve(got);
    });
  });
}

/** These conditions turn true within a packet's round trip: poll often. */
const POLL_MS = 10;

describe('LeanMqttClient', () => {
  it('publishes QoS 1 messages that an mqtt.js subscriber receives byte for byte', async () => {
    const sub = await mqttjs();
    await sub.subscribeAsync('lean/out/#', { qos: 1 });
    const pub = await lean();
    const big = Buffer.alloc(200_000);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7) & 0xff;
    const sent: { topic: string; payload: Buffer | string }[] = [
      { topic: 'lean/out/text', payload: '{"v":1,"readings":[]}' },
      { topic: 'lean/out/utf8/grüße', payload: 'Grüße, 温度 ° ✓' },
      { topic: 'lean/out/empty', payload: '' },
      { topic: 'lean/out/binary', payload: Buffer.from([0, 1, 2, 0xff, 0x80, 0x7f]) },
      { topic: 'lean/out/big', payload: big }, // more than one output buffer; 3-byte remaining length
      { topic: 'lean/out/string-127', payload: 'x'.repeat(127 - 2 - 2 - 'lean/out/string-127'.length) },
    ];
    const received = receive(sub, sent.length);
    for (const m of sent) pub.publishQos1(encodeTopic(m.topic), m.payload);
    expect(pub.inflight).toBe(sent.length);
    const got = await received;
    expect(got.map((m) => m.topic)).toEqual(sent.map((m) => m.topic));
    got.forEach((m, i) => expect(m.payload.equals(Buffer.from(sent[i]!.payload))).toBe(true));
    await waitFor('PUBACKs', 10_000, () => pub.inflight === 0, POLL_MS);
    expect(pub.failedPublishes).toBe(0);
  });

  it('keeps thousands of publishes of one tick in order, all PUBACKed', async () => {
    const sub = await mqttjs();
    await sub.subscribeAsync('lean/burst', { qos: 1 });
    const pub = await lean();
    const topic = encodeTopic('lean/burst');
    const count = 5000;
    const received = receive(sub, count);
    for (let i = 0; i < count; i++) pub.publishQos1(topic, `message ${i}`);
    expect(pub.inflight).toBe(count);
    const got = await received;
    expect(got.map((m) => m.payload.toString())).toEqual(
      Array.from({ length: count }, (_, i) => `message ${i}`),
    );
    await waitFor('PUBACKs', 10_000, () => pub.inflight === 0, POLL_MS);
  });

  it('holds publishes beyond 65 535 unacknowledged until PUBACKs free packet ids', async () => {
    const pub = await lean();
    const topic = encodeTopic('lean/ids');
    const count = 70_000;
    for (let i = 0; i < count; i++) pub.publishQos1(topic, 'x');
    expect(pub.inflight).toBe(count);
    // PUBACKs for ids not in flight are ignored, so reaching 0 takes 70 000 PUBACKs matching live ids.
    await waitFor('PUBACKs', 30_000, () => pub.inflight === 0, POLL_MS);
    expect(pub.isClosed).toBe(false);
    expect(pub.failedPublishes).toBe(0);
  });

  it('receives QoS 1 and QoS 0 publishes and PUBACKs the QoS 1 ones', async () => {
    const sub = await lean();
    const got: { topic: string; payload: string }[] = [];
    sub.onMessage((topic, payload) => got.push({ topic, payload: payload.toString() }));
    await sub.subscribe(['lean/in/qos1', 'lean/in/qos0'], 1);
    const pub = await mqttjs();
    // Far more than max_inflight_messages (10): they only all arrive if each one is PUBACKed.
    const count = 500;
    for (let i = 0; i < count; i++) pub.publish('lean/in/qos1', `q1 ${i}`, { qos: 1 });
    await pub.publishAsync('lean/in/qos0', 'q0', { qos: 0 });
    await waitFor(`${count + 1} messages`, 10_000, () => got.length === count + 1, POLL_MS);
    expect(got.filter((m) => m.topic === 'lean/in/qos1').map((m) => m.payload)).toEqual(
      Array.from({ length: count }, (_, i) => `q1 ${i}`),
    );
    expect(got.filter((m) => m.topic === 'lean/in/qos0')).toEqual([{ topic: 'lean/in/qos0', payload: 'q0' }]);
    // Mosquitto resends unacknowledged QoS 1 messages only on reconnect, so a missing PUBACK would
    // show as missing messages above, not duplicates; and nothing more may arrive.
    await new Promise((r) => setTimeout(r, 200));
    expect(got).toHaveLength(count + 1);
  });

  it('subscribes to many topics in one SUBSCRIBE', async () => {
    const sub = await lean();
    const topics = Array.from({ length: 200 }, (_, i) => `lean/many/${i}`);
    const got: string[] = [];
    sub.onMessage((topic) => got.push(topic));
    await sub.subscribe(topics, 1);
    const pub = await mqttjs();
    await pub.publishAsync('lean/many/199', 'x', { qos: 1 });
    await pub.publishAsync('lean/many/0', 'x', { qos: 1 });
    await waitFor('2 messages', 10_000, () => got.length === 2, POLL_MS);
    expect(got).toEqual(['lean/many/199', 'lean/many/0']);
  });

  it('rejects a connect to a port nobody listens on', async () => {
    const port = await freePort();
    await expect(LeanMqttClient.connect(`mqtt://127.0.0.1:${port}`, { clientId: 'nobody' })).rejects.toThrow(
      `MQTT 127.0.0.1:${port} (nobody): connect ECONNREFUSED`,
    );
  });

  it('rejects a connect when no CONNACK comes', async () => {
    const silent = net.createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as net.AddressInfo).port;
    try {
      await expect(
        LeanMqttClient.connect(`mqtt://127.0.0.1:${port}`, { clientId: 'silent', connectTimeoutMs: 300 }),
      ).rejects.toThrow('no CONNACK within 300 ms');
    } finally {
      silent.close();
    }
  });

  it('rejects a connect the broker refuses, with the CONNACK reason', async () => {
    const closed = await MosquittoServer.start({ allowAnonymous: false });
    try {
      await expect(LeanMqttClient.connect(closed.url, { clientId: 'anon' })).rejects.toThrow(
        'connection refused: not authorized (CONNACK 5)',
      );
    } finally {
      await closed.destroy();
    }
  });

  it('reports a connection the broker drops, and counts what it leaves unacknowledged', async () => {
    const client = await lean('taken-over');
    const closed = new Promise<Error | undefined>((resolve) => client.onClose(resolve));
    // Mosquitto disconnects a client when another connects with the same id.
    await mqttjs('taken-over');
    const err = await closed;
    expect(err?.message).toMatch(/taken-over\): connection closed by the broker/);
    expect(client.isClosed).toBe(true);
    client.publishQos1(encodeTopic('lean/after'), 'lost');
    expect(client.failedPublishes).toBe(1);
    await expect(client.subscribe(['lean/after'], 1)).rejects.toThrow(/connection closed by the broker/);
  });

  it('end() sends DISCONNECT and reports no error', async () => {
    const client = await LeanMqttClient.connect(broker.url, { clientId: 'polite' });
    const closed = new Promise<Error | undefined>((resolve) => client.onClose(resolve));
    await client.end();
    expect(await closed).toBeUndefined();
    // "disconnected." is Mosquitto's word for a DISCONNECT; a bare close is "closed its connection.".
    await waitFor(
      'the broker to log the DISCONNECT',
      10_000,
      () => readFileSync(broker.logFile, 'utf8').includes('Client polite disconnected.'),
      POLL_MS,
    );
  });
});
