/**
 * Decides which outbox readings to send next. Pure: the forwarder does the I/O. The policy (live readings
 * first, one backlog batch after each live one, a window of unacknowledged readings, everything resent
 * after the ack timeout) and its reasons are in device/mqtthandler/README.md, "Store-and-forward".
 * "Backlog" is everything up to the last seq at the latest (re)connect; later readings are "live".
 */
export interface ReadRequest {
  kind: 'live' | 'backlog';
  afterSeq: number;
  toSeq: number | '+';
  count: number;
}

/** A reading as the scheduler tracks it: its seq and measurement time (to recognise it in the outbox). */
export interface SentReading {
  seq: number;
  ts: string;
}

export interface ReplaySchedulerOptions {
  batchMax: number;
  /** Longest a live reading waits to be batched with others. */
  batchMaxWaitMs: number;
  inflightMax: number;
  ackTimeoutMs: number;
}

/** Readings sent before the latest reset that a late ack may still name. */
const SUPERSEDED_MAX = 20_000;

/**
 * With append hints, the live poll only catches what a lost hint missed (the sensor is older and does not
 * publish, or a hint fell into a subscriber reconnect), so it can be slow.
 */
export const HINTED_IDLE_POLL_MS = 1000;

export class ReplayScheduler {
  private inflight = new Map<number, { sentAt: number; ts: string }>();
  /**
   * Readings that may be unacknowledged now. After a (re)connect or an ack timeout it starts at two batches
   * and grows by one reading per reading acknowledged, i.e. it doubles every round trip (as TCP's slow
   * start) up to `inflightMax`: a fleet that comes back online together (a site's network returns) ramps
   * up within a few round trips instead of putting every device's whole window on the backend in the same
   * second, where the live readings of every other device queue behind it.
   */
  private window: number;
  private readonly superseded = new Map<number, string>();
  private liveCursor = 0;
  private backlogCursor = 0;
  private backlogEnd = 0;
  private preferLive = true;
  private lastLiveAt = Number.NEGATIVE_INFINITY;
  /**
   * Time from the last live read to the next: the batch wait after a read that found readings (so a fast
   * sensor's readings are batched), half of it after an empty one. A reading that arrives after a quiet
   * spell (a 1 Hz sensor: every one) is therefore picked up at the next poll instead of waiting out a batch
   * wait that batches nothing.
   */
  private liveGapMs: number;
  private liveFull = false;
  /** Whether the sensor's append hints arrive (the forwarder's subscriber is subscribed). */
  private hints = false;
  /** Highest seq an append hint named: live readings above the cursor are known to be waiting. */
  private hintedSeq = 0;
  /** The last live read that found readings: live reads that send something are a batch wait apart. */
  private lastFoundAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly opts: ReplaySchedulerOptions) {
    this.liveGapMs = opts.batchMaxWaitMs;
    this.window = this.startWindow();
  }

  private startWindow(): number {
    return Math.min(this.opts.inflightMax, 2 * this.opts.batchMax);
  }

  /** The window now (see `window`). */
  get windowSize(): number {
    return this.window;
  }

  /**
   * (Re)connect or restart: nothing is in flight any more, all of the outbox up to lastSeq is backlog.
   * What was in flight is remembered (bounded) so a late ack of it still counts: the reading may be gone
   * from the outbox by then (dropped by the bound), and only such an ack tells that it is not lost.
   * `forget` after Redis lost writes: the old seqs may name other readings now.
   */
  reset(lastSeq: number, forget = false): void {
    if (forget) this.superseded.clear();
    else {
      for (const [seq, { ts }] of this.inflight) {
        this.superseded.delete(seq);
        this.superseded.set(seq, ts);
      }
      for (const seq of this.superseded.keys()) {
        if (this.superseded.size <= SUPERSEDED_MAX) break;
        this.superseded.delete(seq);
      }
    }
    this.inflight.clear();
    this.window = this.startWindow();
    this.backlogCursor = 0;
    this.backlogEnd = lastSeq;
    this.liveCursor = lastSeq;
    this.preferLive = true;
    this.lastLiveAt = Number.NEGATIVE_INFINITY;
    this.lastFoundAt = Number.NEGATIVE_INFINITY;
    this.liveFull = false;
    // After a seq rollback old hints name seqs that were never appended under the new counter.
    if (forget) this.hintedSeq = 0;
  }

  /**
   * Append hints on or off. Off (no subscriber, or it reconnects), live readings are found by polling as
   * before: a read every half batch wait while quiet.
   */
  setHints(on: boolean): void {
    this.hints = on;
  }

  get hintsOn(): boolean {
    return this.hints;
  }

  /** The sensor appended this seq: a live read is due at once, or a batch wait after the last one that sent. */
  appended(seq: number): void {
    if (seq > this.hintedSeq) this.hintedSeq = seq;
  }

  get inflightCount(): number {
    return this.inflight.size;
  }

  get backlogRemaining(): boolean {
    return this.backlogCursor < this.backlogEnd;
  }

  /** Highest seq looked at so far: the outbox's last seq can only be lower after Redis lost writes. */
  get highestSeen(): number {
    return this.liveCursor;
  }

  /** The measurement time sent for a seq in flight or sent before the latest reset (else undefined). */
  inflightTs(seq: number): string | undefined {
    return this.inflight.get(seq)?.ts ?? this.superseded.get(seq);
  }

  /** Sent and not acknowledged since the latest reset (its own ack may still come). */
  inFlight(seq: number): boolean {
    return this.inflight.has(seq);
  }

  /** When the next live read becomes due (for the forwarder's timer). */
  liveDueAt(): number {
    if (this.liveFull) return Number.NEGATIVE_INFINITY;
    if (this.hintedSeq > this.liveCursor) {
      // A hinted reading waits only for the batching floor: a sensor faster than the batch wait gets its
      // readings batched, a slower one (1 Hz) has each sent the moment it is appended.
      return Math.min(this.lastFoundAt + this.opts.batchMaxWaitMs, this.lastLiveAt + this.liveGapMs);
    }
    return this.lastLiveAt + (this.hints ? HINTED_IDLE_POLL_MS : this.liveGapMs);
  }

  /** What to read next, or undefined when the window is full or nothing is due. */
  next(now: number): ReadRequest | undefined {
    const room = this.window - this.inflight.size;
    if (room <= 0) return undefined;
    const count = Math.min(this.opts.batchMax, room);
    // A quarter batch wait of slack: the forwarder polls every half batch wait, and the previous read was
    // stamped after its Redis round trip, so the tick that is due lands a few ms early; without slack the
    // read would slip a whole tick (live reads every 1.5 batch waits instead of every one).
    const liveDue = now + this.opts.batchMaxWaitMs / 4 >= this.liveDueAt();
    if (this.backlogRemaining && (!liveDue || !this.preferLive)) {
      return { kind: 'backlog', afterSeq: this.backlogCursor, toSeq: this.backlogEnd, count };
    }
    if (liveDue) return { kind: 'live', afterSeq: this.liveCursor, toSeq: '+', count };
    return undefined;
  }

  /**
   * Reports what a read returned (ascending seqs) and that it was published. An empty live read passes the
   * turn to the backlog; an empty backlog read means the backlog is done.
   */
  sent(req: ReadRequest, readings: readonly SentReading[], now: number): void {
    const last = readings[readings.length - 1];
    if (req.kind === 'live') {
      if (last) {
        this.liveCursor = Math.max(this.liveCursor, last.seq);
        this.lastFoundAt = now;
      }
      this.lastLiveAt = now;
      this.liveGapMs = last ? this.opts.batchMaxWaitMs : this.opts.batchMaxWaitMs / 2;
      this.liveFull = readings.length >= req.count;
      this.preferLive = false;
    } else {
      this.backlogCursor = last ? last.seq : this.backlogEnd;
      this.preferLive = true;
    }
    for (const r of readings) this.inflight.set(r.seq, { sentAt: now, ts: r.ts });
  }

  /** Acked (stored, rejected or renumbered) seqs leave the window. */
  acked(seqs: Iterable<number>): void {
    let acked = 0;
    for (const s of seqs) {
      if (this.inflight.delete(s)) acked++;
      this.superseded.delete(s);
    }
    this.window = Math.min(this.opts.inflightMax, this.window + acked);
  }

  /** True when the oldest unacknowledged reading has waited longer than the ack timeout. */
  timedOut(now: number): boolean {
    for (const { sentAt } of this.inflight.values()) {
      // Map iteration is insertion order, so the first entry is the oldest send.
      return now - sentAt > this.opts.ackTimeoutMs;
    }
    return false;
  }

  /** Resend everything unacknowledged: same as a reconnect, keeping the live cursor's position. */
  resendUnacked(): void {
    this.reset(this.liveCursor);
  }
}
