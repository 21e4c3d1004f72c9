import type { Receipt } from '../ingest/ingest-item.js';

/**
 * basic.ack after commit, many messages per ack: deliveries are released in delivery-tag order, and
 * one `multiple` ack covers every tag up to the newest whose older ones are all committed (a committed
 * message waits for older ones still in a transaction). Released once per event-loop turn, so a batch
 * commit of thousands of messages is one ack frame.
 *
 * One window per channel: delivery tags count per channel, and a channel that closed took its unacked
 * messages back to the queue (the broker delivers them again, storing them twice is a no-op), so its
 * window is dropped and its receipts become no-ops.
 */
class HeldDelivery implements Receipt {
  done = false;
  constructor(
    private readonly window: DeliveryAcks,
    readonly tag: number,
  ) {}
  committed(): void {
    if (this.done) return;
    this.done = true;
    this.window.due();
  }
}

export class DeliveryAcks {
  private queue: HeldDelivery[] = [];
  private head = 0;
  private scheduled = false;
  private closed = false;

  /** `ack(tag)` acks every delivery up to `tag` (basic.ack with multiple = true). */
  constructor(
    private readonly ack: (tag: number) => void,
    private readonly defer: (fn: () => void) => void = setImmediate,
  ) {}

  /** Deliveries held: received, not yet acked. */
  get held(): number {
    return this.queue.length - this.head;
  }

  hold(tag: number): Receipt {
    const held = new HeldDelivery(this, tag);
    this.queue.push(held);
    return held;
  }

  /** The channel is gone: nothing more is acked on it. */
  close(): void {
    this.closed = true;
    this.queue = [];
    this.head = 0;
  }

  /** @internal A receipt was committed: release what is due at the end of this turn. */
  due(): void {
    if (this.scheduled || this.closed) return;
    this.scheduled = true;
    this.defer(() => {
      this.scheduled = false;
      this.flush();
    });
  }

  /** Acks the committed prefix now (one frame); returns the tag acked, if any. */
  flush(): number | undefined {
    if (this.closed) return undefined;
    let last: number | undefined;
    while (this.head < this.queue.length && this.queue[this.head]!.done) last = this.queue[this.head++]!.tag;
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    if (last !== undefined) this.ack(last);
    return last;
  }
}
