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
 * Readings measured this recently when they arrive are live: a device's send path takes well under this,
 * and a backlog worth the name (replayed after an outage) is older.
 */
export const LIVE_MAX_AGE_MS = 10_000;

/**
 * A message for the live lane: readings that are all fresh, and no probe. A probe's answer relies on the
 * device's earlier messages at this replica having committed first, so a message carrying one keeps its
 * place. Everything else about a message may be applied in any order (registry updates only move forward,
 * a reading stored twice is a duplicate), so taking live ones first changes no outcome, only when.
 */
export function isLiveItem(item: IngestItem): boolean {
  if (!item.readings.length || item.probe?.length) return false;
  for (const r of item.readings) if (item.receivedAt - r.measuredMs > LIVE_MAX_AGE_MS) return false;
  return true;
}

/** Messages in arrival order, taken from the front without shifting the array each time. */
class Lane {
  items: IngestItem[] = [];
  head = 0;

  get first(): IngestItem | undefined {
    return this.items[this.head];
  }

  get length(): number {
    return this.items.length - this.head;
  }

  /** Drops the taken prefix in one go (Array.shift() per message is O(n)). */
  compact(): void {
    if (!this.head) return;
    this.items = this.items.slice(this.head);
    this.head = 0;
  }
}

/**
 * Coalesces messages from many devices into one transaction: flush when `maxRows` are waiting or the
 * oldest message has waited `maxWaitMs`. Small messages (1 reading each) are what makes this matter:
 * one commit per message would cap ingest at the disk's fsync rate. Live messages (isLiveItem) go into
 * the next transaction ahead of a replayed backlog that arrived before them: while devices replay
 * thousands of readings, a fleet's live readings are committed within a transaction or two instead of
 * waiting behind everything held in memory (INGEST_MAX_PENDING_ROWS).
 */
export class IngestBatcher {
  private readonly live = new Lane();
  private readonly rest = new Lane();
  private rows = 0;

  constructor(private readonly opts: { maxRows: number; maxWaitMs: number }) {}

  add(item: IngestItem): void {
    (isLiveItem(item) ? this.live : this.rest).items.push(item);
    this.rows += weightOf(item);
  }

  get pendingRows(): number {
    return this.rows;
  }

  get pendingMessages(): number {
    return this.live.length + this.rest.length;
  }

  /** ms until the oldest message is due (0 = now), or undefined when empty. */
  dueIn(now: number): number | undefined {
    const a = this.live.first;
    const b = this.rest.first;
    if (!a && !b) return undefined;
    if (this.rows >= this.opts.maxRows) return 0;
    const oldest = Math.min(a?.receivedAt ?? Infinity, b?.receivedAt ?? Infinity);
    return Math.max(0, oldest + this.opts.maxWaitMs - now);
  }

  /** Takes up to maxRows worth of whole messages (at least one message), live ones first. */
  take(): Batch {
    const items: IngestItem[] = [];
    let rows = 0;
    for (const lane of [this.live, this.rest]) {
      while (lane.head < lane.items.length) {
        const item = lane.items[lane.head]!;
        const n = weightOf(item);
        if (items.length && rows + n > this.opts.maxRows) break;
        items.push(item);
        rows += n;
        lane.head++;
      }
      lane.compact();
      if (lane.length) break; // full: a live message left over goes first next time, not after the rest
    }
    this.rows -= rows;
    return { items, rows };
  }
}
