/**
 * Decides which outbox readings to send next. Pure: the forwarder does the I/O.
 *
 * On every (re)connect everything in the outbox up to the current last seq becomes "backlog"; readings
 * appended after that are "live". Each round sends live readings first (newest data is what people watch),
 * then one backlog batch in seq order, so the backlog drains steadily behind live data without starving it.
 * A window bounds readings sent but not yet acknowledged; an ack frees room. If no ack comes within the
 * timeout, the link is assumed lossy and everything unacknowledged is scheduled again (duplicates are
 * harmless: the backend stores by (device, seq, sensor) once).
 */
export interface ReadRequest {
  kind: 'live' | 'backlog';
  afterSeq: number;
  toSeq: number | '+';
  count: number;
}

export class ReplayScheduler {
  private inflight = new Map<number, number>(); // seq → sent at (ms)
  private liveCursor = 0;
  private backlogCursor = 0;
  private backlogEnd = 0;
  private preferLive = true;

  constructor(private readonly opts: { batchMax: number; inflightMax: number; ackTimeoutMs: number }) {}

  /** (Re)connect or restart: nothing is in flight any more, all of the outbox up to lastSeq is backlog. */
  reset(lastSeq: number): void {
    this.inflight.clear();
    this.backlogCursor = 0;
    this.backlogEnd = lastSeq;
    this.liveCursor = lastSeq;
    this.preferLive = true;
  }

  get inflightCount(): number {
    return this.inflight.size;
  }

  get backlogRemaining(): boolean {
    return this.backlogCursor < this.backlogEnd;
  }

  /** What to read next, or undefined when the window is full (or there is nothing to look at). */
  next(): ReadRequest | undefined {
    const room = this.opts.inflightMax - this.inflight.size;
    if (room <= 0) return undefined;
    const count = Math.min(this.opts.batchMax, room);
    const live: ReadRequest = { kind: 'live', afterSeq: this.liveCursor, toSeq: '+', count };
    if (!this.backlogRemaining) return live;
    const backlog: ReadRequest = {
      kind: 'backlog',
      afterSeq: this.backlogCursor,
      toSeq: this.backlogEnd,
      count,
    };
    return this.preferLive ? live : backlog;
  }

  /**
   * Reports what a read returned (seqs ascending) and that it was published. An empty live read passes the
   * turn to the backlog; an empty backlog read means the backlog is done.
   */
  sent(req: ReadRequest, seqs: readonly number[], now: number): void {
    if (req.kind === 'live') {
      if (seqs.length) this.liveCursor = Math.max(this.liveCursor, seqs[seqs.length - 1]!);
      this.preferLive = false;
    } else {
      this.backlogCursor = seqs.length ? seqs[seqs.length - 1]! : this.backlogEnd;
      this.preferLive = true;
    }
    for (const s of seqs) this.inflight.set(s, now);
  }

  /** Acked (stored or rejected) seqs leave the window. */
  acked(seqs: Iterable<number>): void {
    for (const s of seqs) this.inflight.delete(s);
  }

  /** True when the oldest unacknowledged reading has waited longer than the ack timeout. */
  timedOut(now: number): boolean {
    for (const sentAt of this.inflight.values()) {
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
