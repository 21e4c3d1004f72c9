import { readFileSync } from 'node:fs';
import { connectAsync, type IClientOptions, type MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { topicFilters, topics } from '@sensorfleet/shared';
import { mqttConnectProbe, SecuredBroker, waitFor } from '@sensorfleet/tools/harness';

/**
 * The shipped backend/mqttserver/mosquitto.conf + acl on a real Mosquitto: who may connect, publish and
 * read what. Unauthorised publishes are dropped silently by Mosquitto 2.0 (the publisher still gets its
 * PUBACK), so "not delivered" is shown by a marker message the same publisher sends afterwards: QoS 1
 * messages of one publisher reach a subscriber in order, so once the marker is in, the earlier message
 * would have been too.
 */

const A = 'dev-a';
const B = 'dev-b';
let broker: SecuredBroker;
const pw: Record<string, string> = {};
const clients: MqttClient[] = [];

beforeAll(async () => {
  broker = await SecuredBroker.start({ tls: true });
  for (const user of [A, B, 'receiver', 'webadmin', 'monitor']) pw[user] = await broker.setAccount(user);
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.endAsync(true)));
});

afterAll(async () => {
  await broker?.destroy();
});

async function connect(user: string, opts: IClientOptions = {}, url = broker.url): Promise<MqttClient> {
  const client = await connectAsync(url, {
    username: user,
    password: pw[user],
    reconnectPeriod: 0,
    connectTimeout: 5000,
    ...opts,
  });
  clients.push(client);
  return client;
}

/** Every message a client receives, and a way to wait for one. */
class Inbox {
  readonly messages: { topic: string; payload: string }[] = [];
  constructor(client: MqttClient) {
    client.on('message', (topic, payload) => this.messages.push({ topic, payload: payload.toString() }));
  }
  waitFor(topic: string, payload: string, timeoutMs = 5000): Promise<void> {
    return waitFor(
      `${topic} ${payload}`,
      timeoutMs,
      () =>
        this.messages.some((m) => m.topic === topic && m.payload === payload) ||
        JSON.stringify(this.messages),
      20,
    );
  }
  payloads(topic: string): string[] {
    return this.messages.filter((m) => m.topic === topic).map((m) => m.payload);
  }
}

async function subscribed(client: MqttClient, filters: string[]): Promise<Inbox> {
  const inbox = new Inbox(client);
  await client.subscribeAsync(filters, { qos: 1 });
  return inbox;
}

/** webadmin reads devices/#: the witness of what reached the broker's subscribers. */
async function witness(): Promise<Inbox> {
  return subscribed(await connect('webadmin'), ['devices/#']);
}

describe('who may connect', () => {
  it('refuses clients without credentials', async () => {
    expect(await mqttConnectProbe(broker.server.port)).toBe(5); // CONNACK "not authorized"
    await expect(connectAsync(broker.url, { reconnectPeriod: 0 })).rejects.toThrow(/not authorized/i);
  });

  it('refuses a wrong password and an unknown user', async () => {
    await expect(connect(A, { password: 'wrong-password' })).rejects.toThrow(/not authorized/i);
    await expect(connect('dev-unknown', { password: pw[A] })).rejects.toThrow(/not authorized/i);
  });

  it('accepts each account with its own password', async () => {
    for (const user of [A, B, 'receiver', 'webadmin']) expect((await connect(user)).connected).toBe(true);
  });
});

describe('what a device may do', () => {
  it("delivers a device's telemetry to the receivers' shared subscription", async () => {
    const receiver = await subscribed(await connect('receiver'), [topicFilters.sharedTelemetry('receivers')]);
    const device = await connect(A);
    await device.publishAsync(topics.telemetry(A), 'batch-1', { qos: 1 });
    await receiver.waitFor(topics.telemetry(A), 'batch-1');
  });

  it('checks each message of a shared subscription against the ACL', async () => {
    // The receiver may read telemetry but not commands: a catch-all shared filter must not change that.
    const receiver = await subscribed(await connect('receiver'), ['$share/receivers/#']);
    const webadmin = await connect('webadmin');
    const device = await connect(A);
    await webadmin.publishAsync(topics.commands(A), 'command', { qos: 1 });
    await device.publishAsync(topics.telemetry(A), 'telemetry', { qos: 1 });
    await receiver.waitFor(topics.telemetry(A), 'telemetry');
    await new Promise((resolve) => setTimeout(resolve, 200)); // two publishers: no order to rely on
    expect(receiver.payloads(topics.commands(A))).toEqual([]);
  });

  it('drops telemetry a device publishes under another device id', async () => {
    const receiver = await subscribed(await connect('receiver'), [topicFilters.sharedTelemetry('receivers')]);
    const seen = await witness();
    const device = await connect(A);
    // Still acknowledged (MQTT 3.1.1 has no way to say no), but never delivered.
    await device.publishAsync(topics.telemetry(B), 'spoofed', { qos: 1 });
    await device.publishAsync(topics.telemetry(A), 'marker', { qos: 1 });
    await receiver.waitFor(topics.telemetry(A), 'marker');
    await seen.waitFor(topics.telemetry(A), 'marker');
    expect(receiver.payloads(topics.telemetry(B))).toEqual([]);
    expect(seen.payloads(topics.telemetry(B))).toEqual([]);
  });

  it("never delivers another device's commands or acks, whatever it subscribes to", async () => {
    const deviceA = await connect(A);
    // Mosquitto 2.0 grants the SUBACK and filters each delivery by the ACL instead.
    const inboxA = await subscribed(deviceA, [topics.commands(B), topics.ack(B), 'devices/#', '#']);
    const inboxB = await subscribed(await connect(B), [topics.commands(B), topics.ack(B)]);
    const webadmin = await connect('webadmin');
    const receiver = await connect('receiver');
    await webadmin.publishAsync(topics.commands(B), 'command-for-b', { qos: 1 });
    await receiver.publishAsync(topics.ack(B), 'ack-for-b', { qos: 1 });
    await webadmin.publishAsync(topics.commands(A), 'command-for-a', { qos: 1 });
    await receiver.publishAsync(topics.ack(A), 'ack-for-a', { qos: 1 });

    await inboxB.waitFor(topics.commands(B), 'command-for-b');
    await inboxB.waitFor(topics.ack(B), 'ack-for-b');
    await inboxA.waitFor(topics.commands(A), 'command-for-a');
    await inboxA.waitFor(topics.ack(A), 'ack-for-a');
    expect(inboxA.messages.map((m) => m.topic).filter((t) => !t.startsWith(`devices/${A}/`))).toEqual([]);
  });

  it("does not hand out another device's retained state", async () => {
    const deviceB = await connect(B);
    await deviceB.publishAsync(topics.state(B), 'state-of-b', { qos: 1, retain: true });
    const seen = await subscribed(await connect('webadmin'), [topicFilters.state]);
    await seen.waitFor(topics.state(B), 'state-of-b'); // it is retained …

    // A retained message device A may read, to know its subscription works.
    const webadmin = await connect('webadmin');
    await webadmin.publishAsync(topics.commands(A), 'retained-for-a', { qos: 1, retain: true });
    try {
      const inboxA = await subscribed(await connect(A), ['#']);
      await inboxA.waitFor(topics.commands(A), 'retained-for-a');
      await new Promise((resolve) => setTimeout(resolve, 300)); // retained messages follow the SUBACK at once
      expect(inboxA.messages.map((m) => m.topic)).toEqual([topics.commands(A)]); // … but not for device A
    } finally {
      await webadmin.publishAsync(topics.commands(A), '', { qos: 1, retain: true }); // clears it
    }
  });

  it('lets the web admin command a device, and nobody else', async () => {
    const inboxA = await subscribed(await connect(A), [topics.commands(A), topics.ack(A)]);
    const seen = await witness();
    const deviceA = await connect(A, { clientId: 'dev-a-spoofer' });
    const receiver = await connect('receiver');
    const webadmin = await connect('webadmin');

    // A device cannot send itself commands or acks (which would delete its unsent readings) …
    await deviceA.publishAsync(topics.commands(A), 'self-command', { qos: 1 });
    await deviceA.publishAsync(topics.ack(A), 'self-ack', { qos: 1 });
    await deviceA.publishAsync(topics.telemetry(A), 'device-marker', { qos: 1 });
    // … the receiver acks but does not command, the web admin commands but does not ack.
    await receiver.publishAsync(topics.commands(A), 'receiver-command', { qos: 1 });
    await receiver.publishAsync(topics.ack(A), 'receiver-ack', { qos: 1 });
    await webadmin.publishAsync(topics.ack(A), 'webadmin-ack', { qos: 1 });
    await webadmin.publishAsync(topics.commands(A), 'webadmin-command', { qos: 1 });

    await seen.waitFor(topics.telemetry(A), 'device-marker');
    await inboxA.waitFor(topics.ack(A), 'receiver-ack');
    await inboxA.waitFor(topics.commands(A), 'webadmin-command');
    expect(inboxA.payloads(topics.commands(A))).toEqual(['webadmin-command']);
    expect(inboxA.payloads(topics.ack(A))).toEqual(['receiver-ack']);
    expect(seen.payloads(topics.commands(A))).toEqual(['webadmin-command']);
    expect(seen.payloads(topics.ack(A))).toEqual(['receiver-ack']);
  });

  it('lets a device report state, presence, command results and the compatibility topics', async () => {
    const seen = await witness();
    const device = await connect(A);
    const own = [
      topics.state(A),
      topics.online(A),
      topics.commandResult(A),
      topics.compatData(A),
      topics.compatStatus(A),
      topics.compatHeartbeat(A),
      topics.telemetry(A),
    ];
    for (const topic of own) await device.publishAsync(topic, `from-${A}`, { qos: 1 });
    for (const topic of own) await seen.waitFor(topic, `from-${A}`);
  });
});

/** Lets messages of other publishers arrive (no order to rely on across publishers). */
const settle = () => new Promise((resolve) => setTimeout(resolve, 300));

describe('what the service accounts may do', () => {
  /** Everything a device reports, published under `id` by `client`. */
  async function spoofDeviceTopics(client: MqttClient, id: string, payload: string): Promise<void> {
    for (const topic of [
      topics.telemetry(id),
      topics.state(id),
      topics.online(id),
      topics.commandResult(id),
      topics.compatData(id),
      topics.compatStatus(id),
      topics.compatHeartbeat(id),
    ])
      await client.publishAsync(topic, payload, { qos: 1 });
  }
  const deviceTopicsOf = (inbox: Inbox, id: string, payload: string) =>
    inbox.messages.filter((m) => m.topic.startsWith(`devices/${id}/`) && m.payload === payload);

  it('the receiver cannot speak for a device or command it: it only acks and announces itself', async () => {
    const seen = await witness();
    const receiver = await connect('receiver');
    await spoofDeviceTopics(receiver, A, 'from-receiver');
    await receiver.publishAsync(topics.commands(A), 'from-receiver', { qos: 1 });
    await receiver.publishAsync(topics.ack(A), 'receiver-marker', { qos: 1 });
    await seen.waitFor(topics.ack(A), 'receiver-marker');
    expect(deviceTopicsOf(seen, A, 'from-receiver')).toEqual([]);
  });

  it('the web admin cannot speak for a device, ack its readings or fake a receiver', async () => {
    const seen = await witness();
    const presence = await subscribed(await connect(B), [topicFilters.receiversOnline]);
    const webadmin = await connect('webadmin');
    await spoofDeviceTopics(webadmin, A, 'from-webadmin');
    await webadmin.publishAsync(topics.ack(A), 'from-webadmin', { qos: 1 });
    await webadmin.publishAsync(topics.receiverOnline('fake'), 'true', { qos: 1 });
    await webadmin.publishAsync(topics.commands(A), 'webadmin-marker', { qos: 1 });
    await seen.waitFor(topics.commands(A), 'webadmin-marker');
    await settle();
    expect(deviceTopicsOf(seen, A, 'from-webadmin')).toEqual([]);
    expect(presence.messages).toEqual([]);
  });

  it('a device cannot fake a receiver’s presence (which makes every device resend its window)', async () => {
    const presence = await subscribed(await connect(B), [topicFilters.receiversOnline]);
    const deviceA = await connect(A);
    await deviceA.publishAsync(topics.receiverOnline('fake'), 'true', { qos: 1 });
    const receiver = await connect('receiver');
    await receiver.publishAsync(topics.receiverOnline('r-marker'), 'true', { qos: 1 });
    await presence.waitFor(topics.receiverOnline('r-marker'), 'true');
    await settle();
    expect(presence.payloads(topics.receiverOnline('fake'))).toEqual([]);
    await receiver.publishAsync(topics.receiverOnline('r-marker'), '', { qos: 1, retain: true });
  });

  it("a device reads none of another device's data, whatever it subscribes to", async () => {
    const inboxA = await subscribed(await connect(A), [`devices/${B}/#`, 'devices/+/telemetry', '#']);
    const seen = await witness();
    const deviceB = await connect(B);
    await spoofDeviceTopics(deviceB, B, 'private-to-b');
    for (const topic of [topics.telemetry(B), topics.compatHeartbeat(B)])
      await seen.waitFor(topic, 'private-to-b');
    await settle();
    expect(inboxA.messages.filter((m) => m.topic.startsWith(`devices/${B}/`))).toEqual([]);
  });

  it('the metrics account reads no device topic and writes nothing', async () => {
    const monitor = await connect('monitor');
    const inbox = await subscribed(monitor, ['devices/#', topicFilters.receiversOnline]);
    const seen = await witness();
    await spoofDeviceTopics(monitor, A, 'from-monitor');
    await monitor.publishAsync(topics.commands(A), 'from-monitor', { qos: 1 });
    const deviceA = await connect(A);
    await deviceA.publishAsync(topics.telemetry(A), 'monitor-marker', { qos: 1 });
    await seen.waitFor(topics.telemetry(A), 'monitor-marker');
    await settle();
    expect(seen.messages.filter((m) => m.payload === 'from-monitor')).toEqual([]);
    expect(inbox.messages.filter((m) => m.topic.startsWith('devices/'))).toEqual([]);
  });
});

describe('TLS listener', () => {
  it('accepts a client that trusts the dev CA, with the same accounts and ACL', async () => {
    const receiver = await subscribed(await connect('receiver'), [topicFilters.sharedTelemetry('receivers')]);
    const device = await connect(A, { ca: readFileSync(broker.caFile) }, broker.tlsUrl);
    await device.publishAsync(topics.telemetry(A), 'over-tls', { qos: 1 });
    await receiver.waitFor(topics.telemetry(A), 'over-tls');
    await expect(
      connect(A, { ca: readFileSync(broker.caFile), password: 'wrong-password' }, broker.tlsUrl),
    ).rejects.toThrow(/not authorized/i);
  });

  it('is refused by a client that does not trust the CA', async () => {
    await expect(connect(A, {}, broker.tlsUrl)).rejects.toThrow(
      /self[- ]signed|unable to verify|certificate/i,
    );
  });

  it('is refused by a client that expects another host name', async () => {
    const url = broker.tlsUrl.replace('localhost', '127.0.0.1');
    await expect(
      connect(A, { ca: readFileSync(broker.caFile), servername: 'broker.invalid' }, url),
    ).rejects.toThrow(/altnames/i);
  });
});

describe('client ids', () => {
  /** Until `ms` have passed; records whether the client lost its connection meanwhile. */
  async function staysConnected(client: MqttClient, ms: number): Promise<boolean> {
    let closed = false;
    const onClose = () => (closed = true);
    client.on('close', onClose);
    await new Promise((resolve) => setTimeout(resolve, ms));
    client.off('close', onClose);
    return !closed && client.connected;
  }

  for (const listener of ['plain', 'TLS'] as const) {
    it(`binds a device's client id to its user name on the ${listener} device listener`, async () => {
      const url = listener === 'plain' ? broker.deviceUrl : broker.tlsUrl;
      const tls = listener === 'TLS' ? { ca: readFileSync(broker.caFile) } : {};
      const seen = await witness();
      const deviceA = await connect(A, { clientId: A, ...tls }, url);
      // B, with its own valid credentials, asks for A's client id. The broker gives it its own (its
      // user name) instead: A is not disconnected, and B is B.
      const deviceB = await connect(B, { clientId: A, ...tls }, url);
      expect(deviceB.connected).toBe(true);
      expect(await staysConnected(deviceA, 500)).toBe(true);
      await deviceA.publishAsync(topics.telemetry(A), `a-still-here-${listener}`, { qos: 1 });
      await seen.waitFor(topics.telemetry(A), `a-still-here-${listener}`);
      // B's session is really "dev-b": a second B connection, whatever id it asks for, takes it over.
      const bClosed = new Promise<void>((resolve) => deviceB.once('close', () => resolve()));
      await connect(B, { clientId: 'anything-else', ...tls }, url);
      await bClosed;
      expect(deviceA.connected).toBe(true);
    });
  }

  it('lets service accounts share a user name on the backend listener under their own client ids', async () => {
    const one = await connect('receiver', { clientId: 'receiver:r1' });
    const two = await connect('receiver', { clientId: 'receiver:r2' });
    expect(await staysConnected(one, 300)).toBe(true);
    expect(two.connected).toBe(true);
  });
});
