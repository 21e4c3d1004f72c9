import { rowsOfItem, type IngestItem } from './ingest-item.js';

export interface Batch {
  items: IngestItem[];
  /**
   * Weight of the batch: rows in `readings`, plus one per message (its log, registry and counter work),
   * plus one per whole KiB of payload kept for the message log.
   */
  rows: number;
}

/** Payload bytes that weigh as much as one row. */
export const LOG_BYTES_PER_ROW = 1024;

/**
 * Weight of one message in a batch and in the receiver's memory (see Batch.rows). The payload counts so
 * that a flood of rejected messages (no rows, but up to MESSAGE_LOG_PAYLOAD_BYTES each held for the log)
 * cannot fill memory while the database is away: flow control stops at INGEST_MAX_PENDING_ROWS weight.
 */
export function weightOf(item: IngestItem): number {
  return rowsOfItem(item) + 1 + Math.floor(item.logPayload.length / LOG_BYTES_PER_ROW);
}

/**
 * Coalesces messages from many devices into one transaction: flush when `maxRows` are waiting or the
 * oldest message has waited `maxWaitMs`. Small messages (1 reading each) are what makes this matter:
 * one commit per message would cap ingest at the disk's fsync rate.
 */
export class IngestBatcher {
  private items: IngestItem[] = [];
  private head = 0;
  private rows = 0;

  constructor(private readonly opts: { maxRows: number; maxWaitMs: number }) {}

  add(item: IngestItem): void {
    this.items.push(item);
    this.rows += weightOf(item);
  }

  get pendingRows(): number {
    return this.rows;
  }

  get pendingMessages(): number {
    return this.items.length - this.head;
  }

  /** ms until the oldest message is due (0 = now), or undefined when empty. */
  dueIn(now: number): number | undefined {
    const first = this.items[this.head];
    if (!first) return undefined;
    if (this.rows >= this.opts.maxRows) return 0;
    return Math.max(0, first.receivedAt + this.opts.maxWaitMs - now);
  }

  /** Takes up to maxRows worth of whole messages (at least one message). */
  take(): Batch {
    const items: IngestItem[] = [];
    let rows = 0;
    while (this.head < this.items.length) {
      const item = this.items[this.head]!;
      const n = weightOf(item);
      if (items.length && rows + n > this.opts.maxRows) break;
      items.push(item);
      rows += n;
      this.head++;
    }
    // Array.shift() per message is O(n): drop the taken prefix in one go instead.
    this.items = this.items.slice(this.head);
    this.head = 0;
    this.rows -= rows;
    return { items, rows };
  }
}
