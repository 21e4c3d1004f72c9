import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, topics } from '@sensorfleet/shared';
import { MosquittoServer, waitFor } from '@sensorfleet/tools/harness';
import { MqttLink } from '../src/mqtt-link.js';

/** How the device's MQTT session ends on SIGTERM: offline said when the broker answers, never stuck. */
let broker: MosquittoServer;

beforeAll(async () => {
  broker = await MosquittoServer.start();
});

afterAll(async () => {
  if (broker?.pid) process.kill(broker.pid, 'SIGCONT');
  await broker?.destroy();
});

async function connectedLink(deviceId: string): Promise<MqttLink> {
  const link = new MqttLink({
    url: broker.url,
    deviceId,
    keepaliveS: 60,
    reconnectMinMs: 1000,
    reconnectMaxMs: 2000,
    log: createLogger('test', 'silent', { pretty: false }),
    onConnect: async () => {},
    onDisconnect: () => {},
    onMessage: async () => {},
  });
  await link.start();
  await waitFor('the link to connect', 10_000, async () => (link.connected ? true : 'connecting'));
  return link;
}

async function retainedOnline(deviceId: string): Promise<string | undefined> {
  const client = await mqtt.connectAsync(broker.url);
  let value: string | undefined;
  client.on('message', (_topic, payload) => (value = payload.toString()));
  await client.subscribeAsync(topics.online(deviceId), { qos: 1 });
  await new Promise((r) => setTimeout(r, 300));
  await client.endAsync();
  return value;
}

describe('MqttLink.stop', () => {
  it('says offline (retained) before it disconnects from a broker that answers', async () => {
    const link = await connectedLink('stop-alive');
    const started = Date.now();
    await link.stop();
    expect(Date.now() - started).toBeLessThan(1500);
    expect(await retainedOnline('stop-alive')).toBe('false');
  });

  it('ends within its confirm time when the broker stops answering (a link that died unnoticed)', async () => {
    const link = await connectedLink('stop-frozen');
    // Frozen, not gone: the TCP connection stays open and nothing comes back, as in a network partition.
    process.kill(broker.pid!, 'SIGSTOP');
    const started = Date.now();
    try {
      await link.stop();
    } finally {
      process.kill(broker.pid!, 'SIGCONT');
    }
    const took = Date.now() - started;
    expect(took).toBeGreaterThanOrEqual(1900);
    expect(took).toBeLessThan(4000);
    // Back, the broker sees the connection gone without a DISCONNECT: the will says offline.
    await waitFor('the will', 10_000, async () =>
      (await retainedOnline('stop-frozen')) === 'false' ? true : 'no will yet',
    );
  });
});
