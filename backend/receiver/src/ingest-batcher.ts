import type { Reading, RejectedReading } from '@sensorfleet/shared';

export interface AcceptedMessage {
  deviceId: string;
  readings: Reading[];
  rejected: RejectedReading[];
  receivedAt: number;
}

export interface Batch {
  messages: AcceptedMessage[];
  rows: number;
}

/** Rows a message turns into: one per sensor value. */
export function rowsOf(m: AcceptedMessage): number {
  let n = 0;
  for (const r of m.readings) n += Object.keys(r.values).length;
  return n;
}

/**
 * Coalesces messages from many devices into one transaction: flush when `maxRows` are waiting or the
 * oldest message has waited `maxWaitMs`. Small messages (1 reading each) are what makes this matter:
 * one commit per message would cap ingest at the disk's fsync rate.
 */
export class IngestBatcher {
  private messages: AcceptedMessage[] = [];
  private rows = 0;

  constructor(private readonly opts: { maxRows: number; maxWaitMs: number }) {}

  add(m: AcceptedMessage): void {
    this.messages.push(m);
    this.rows += rowsOf(m);
  }

  get pendingRows(): number {
    return this.rows;
  }

  get pendingMessages(): number {
    return this.messages.length;
  }

  /** ms until the oldest message is due (0 = now), or undefined when empty. */
  dueIn(now: number): number | undefined {
    const first = this.messages[0];
    if (!first) return undefined;
    if (this.rows >= this.opts.maxRows) return 0;
    return Math.max(0, first.receivedAt + this.opts.maxWaitMs - now);
  }

  /** Takes up to maxRows worth of whole messages (at least one message). */
  take(): Batch {
    const messages: AcceptedMessage[] = [];
    let rows = 0;
    while (this.messages.length) {
      const m = this.messages[0]!;
      const n = rowsOf(m);
      if (messages.length && rows + n > this.opts.maxRows) break;
      messages.push(m);
      rows += n;
      this.messages.shift();
    }
    this.rows -= rows;
    return { messages, rows };
  }
}
