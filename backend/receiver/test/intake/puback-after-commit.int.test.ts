import mqtt, { type MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { MosquittoServer, waitFor } from '@sensorfleet/tools/harness';
import type { Receipt } from '../../src/ingest/ingest-item.js';
import { PubackAfterCommit } from '../../src/intake/puback-after-commit.js';

/**
 * PUBACK-after-commit against a real Mosquitto and the installed mqtt.js: messages keep arriving while
 * none is committed (batching across messages still works), no PUBACK leaves before its commit, they
 * leave in arrival order, and a held PUBACK is never sent on a later connection.
 */
const N = 50;

class Taker {
  readonly receipts: { id: number; receipt: Receipt }[] = [];
  readonly pubacks: number[] = [];
  private constructor(readonly client: MqttClient) {}

  static async connect(url: string, clientId: string): Promise<Taker> {
    const client = mqtt.connect(url, { clientId, clean: false, reconnectPeriod: 0, resubscribe: false });
    const taker = new Taker(client);
    const pubacks = new PubackAfterCommit(client);
    pubacks.install();
    client.handleMessage = (packet, callback) => {
      const receipt = pubacks.hold(packet.messageId!);
      taker.receipts.push({ id: Number(packet.payload.toString()), receipt });
      pubacks.proceed(receipt, callback);
    };
    client.on('packetsend', (packet) => {
      if (packet.cmd === 'puback') taker.pubacks.push(packet.messageId!);
    });
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('error', reject);
    });
    await client.subscribeAsync('t/#', { qos: 1 });
    return taker;
  }

  ids(): number[] {
    return this.receipts.map((r) => r.id).sort((a, b) => a - b);
  }

  /** Drops the TCP connection without DISCONNECT, as a crash would. */
  async crash(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.client.once('close', () => resolve()));
    this.client.stream.destroy();
    await closed;
    await this.client.endAsync(true);
  }
}

describe('PUBACK after commit (real Mosquitto)', () => {
  let broker: MosquittoServer | undefined;
  const clients: MqttClient[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.endAsync(true)));
    await broker?.stop();
    broker = undefined;
  });

  it('takes message after message while none is committed, and PUBACKs only committed ones, in order', async () => {
    broker = await MosquittoServer.start({ extraConfig: 'max_inflight_messages 1000' });
    const taker = await Taker.connect(broker.url, 'held-order');
    clients.push(taker.client);
    const pub = await mqtt.connectAsync(broker.url, { clientId: 'pub-order' });
    clients.push(pub);
    await Promise.all(Array.from({ length: N }, (_, i) => pub.publishAsync('t/x', String(i), { qos: 1 })));

    // All of them arrive with nothing committed: intake is not serialised on the commit.
    await waitFor(`${N} messages`, 10_000, async () => taker.receipts.length === N);
    expect(taker.pubacks).toEqual([]);

    // A later message committed first waits for the earlier ones.
    const [first, second, third] = taker.receipts;
    third!.receipt.committed();
    second!.receipt.committed();
    await new Promise((r) => setTimeout(r, 100));
    expect(taker.pubacks).toEqual([]);
    first!.receipt.committed();
    await waitFor('three PUBACKs', 5000, async () => taker.pubacks.length === 3);
    for (const r of taker.receipts) r.receipt.committed();
    await waitFor(`${N} PUBACKs`, 5000, async () => taker.pubacks.length === N);
    expect(new Set(taker.pubacks).size).toBe(N);
  });

  it('leaves what was not committed with the broker: the persistent session gets it again, nothing more', async () => {
    broker = await MosquittoServer.start({ extraConfig: 'max_inflight_messages 1000' });
    const first = await Taker.connect(broker.url, 'held-crash');
    const pub = await mqtt.connectAsync(broker.url, { clientId: 'pub-crash' });
    clients.push(pub);
    await Promise.all(Array.from({ length: N }, (_, i) => pub.publishAsync('t/x', String(i), { qos: 1 })));
    await waitFor(`${N} messages`, 10_000, async () => first.receipts.length === N);
    // The first 20 are committed; then the connection dies with the rest held.
    for (const r of first.receipts.slice(0, 20)) r.receipt.committed();
    await waitFor('20 PUBACKs', 5000, async () => first.pubacks.length === 20);
    const held = first.receipts.slice(20).map((r) => r.id);
    // Written, but the socket is corked until the next tick: let them leave before the crash.
    await new Promise((r) => setTimeout(r, 50));
    await first.crash();
    // Committing after the connection is gone sends nothing (not even on the next connection).
    for (const r of first.receipts) r.receipt.committed();

    const again = await Taker.connect(broker.url, 'held-crash');
    clients.push(again.client);
    await waitFor('the uncommitted messages again', 10_000, async () => again.receipts.length >= held.length);
    await new Promise((r) => setTimeout(r, 300));
    expect(again.ids()).toEqual([...held].sort((a, b) => a - b));
    expect(again.pubacks).toEqual([]);
    for (const r of again.receipts) r.receipt.committed();
    await waitFor('their PUBACKs', 5000, async () => again.pubacks.length === held.length);
  });

  it("holds no more than the broker's window before the first PUBACK (max_inflight_messages)", async () => {
    broker = await MosquittoServer.start({ extraConfig: 'max_inflight_messages 20' });
    const taker = await Taker.connect(broker.url, 'held-window');
    clients.push(taker.client);
    const pub = await mqtt.connectAsync(broker.url, { clientId: 'pub-window' });
    clients.push(pub);
    await Promise.all(Array.from({ length: 200 }, (_, i) => pub.publishAsync('t/x', String(i), { qos: 1 })));
    await new Promise((r) => setTimeout(r, 500));
    expect(taker.receipts).toHaveLength(20);
    // Mosquitto 2.0.11 stops enforcing the window once PUBACKs flow (its inflight quota bug, fixed in
    // 2.0.13): reported, not asserted, so a broker upgrade shows up here as a different figure.
    for (const r of taker.receipts.slice(0, 10)) r.receipt.committed();
    await new Promise((r) => setTimeout(r, 500));
    process.stderr.write(
      `[broker window] 20 held before any PUBACK; ${taker.receipts.length - 10} held after 10 PUBACKs\n`,
    );
  });
});
