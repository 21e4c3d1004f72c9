import type { MqttClient } from 'mqtt';
import type { Receipt } from '../ingest/ingest-item.js';

/**
 * A QoS 1 message counts as taken by the receiver (its PUBACK goes to the broker) only once its batch is
 * committed, and still many messages are batched into one transaction.
 *
 * mqtt.js (5.x, handlers/publish.js) parses the next incoming packet only after handleMessage's callback
 * has run AND the PUBACK it then writes has been handed to the socket: holding the callback until the
 * commit would take one message per transaction. So the callback runs at once, and the PUBACK packet
 * mqtt.js writes for it, synchronously inside that callback, is caught on its way to the socket
 * (`_sendPacket`, the one place every outgoing packet passes) and held until `committed()` of the
 * message's Receipt. The broker bounds how many un-PUBACKed messages a client holds
 * (`max_inflight_messages`): that is the receiver's batch across messages.
 *
 * PUBACKs leave in the order the messages arrived (MQTT 3.1.1 §4.6), a committed message waiting for
 * older ones still in a transaction. A PUBACK held when its connection dropped is never sent: the broker
 * sends the message again on the persistent session (a message id may name another message by then, and
 * mqtt.js would queue a packet written while offline for the next connection), and storing it twice is
 * a no-op. `test/puback-after-commit.int.test.ts` checks this against a real Mosquitto and the
 * installed mqtt.js, so an mqtt.js upgrade that changes the path shows up as a failing test.
 */
type SendPacket = (packet: { cmd: string; messageId?: number }, cb?: () => void, ...rest: unknown[]) => void;

class HeldPuback implements Receipt {
  done = false;
  packet: { cmd: string; messageId?: number } | undefined;

  constructor(
    private readonly owner: PubackAfterCommit,
    readonly messageId: number,
    readonly stream: unknown,
  ) {}

  committed(): void {
    if (this.done) return;
    this.done = true;
    this.owner.flush();
  }
}

/** For QoS 0 messages: nothing to acknowledge. */
export const NO_RECEIPT: Receipt = { committed: () => {} };

export class PubackAfterCommit {
  private queue: HeldPuback[] = [];
  private head = 0;
  /** The message whose handleMessage callback is running: mqtt.js writes its PUBACK right now. */
  private capturing: HeldPuback | undefined;
  private send: SendPacket | undefined;

  constructor(private readonly client: MqttClient) {}

  /** Routes the client's outgoing packets through here (call once, before it connects). */
  install(): void {
    const target = this.client as unknown as { _sendPacket?: SendPacket };
    const original = target._sendPacket;
    if (typeof original !== 'function') {
      throw new Error('this mqtt.js has no _sendPacket: PUBACK-after-commit cannot hold PUBACKs');
    }
    const send: SendPacket = original.bind(this.client);
    this.send = send;
    target._sendPacket = (packet, cb, ...rest) => {
      const held = this.capturing;
      if (held && packet.cmd === 'puback' && packet.messageId === held.messageId) {
        this.capturing = undefined;
        held.packet = packet;
        cb?.(); // mqtt.js goes on to the next incoming packet
        this.flush();
        return;
      }
      send(packet, cb, ...rest);
    };
  }

  /** Un-PUBACKed messages held (received, not yet committed or not yet sent in order). */
  get held(): number {
    return this.queue.length - this.head;
  }

  /** A receipt for a QoS 1 message just received; its PUBACK waits for `committed()`. */
  hold(messageId: number): HeldPuback {
    const held = new HeldPuback(this, messageId, this.client.stream);
    this.queue.push(held);
    return held;
  }

  /** Runs handleMessage's callback for `held`: mqtt.js takes the next packet, the PUBACK stays here. */
  proceed(held: Receipt, callback: () => void): void {
    this.capturing = held instanceof HeldPuback ? held : undefined;
    try {
      callback();
    } finally {
      this.capturing = undefined;
    }
  }

  /** Sends the PUBACKs that are due, oldest first; drops those of an earlier connection. */
  flush(): void {
    const stream = this.client.stream as { cork?: () => void; uncork?: () => void } | undefined;
    let corked = false;
    while (this.head < this.queue.length) {
      const held = this.queue[this.head]!;
      if (held.stream !== stream) {
        this.head++;
        continue;
      }
      if (!held.done || !held.packet) break;
      this.head++;
      if (!this.client.connected || !this.send) continue;
      if (!corked && stream?.cork) {
        // A batch commit releases hundreds of PUBACKs: one write, not one system call each.
        stream.cork();
        corked = true;
      }
      this.send(held.packet);
    }
    if (corked) process.nextTick(() => stream?.uncork?.());
    // Array.shift() per message is O(n): drop the sent prefix in one go now and then.
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }
}
