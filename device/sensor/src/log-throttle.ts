/**
 * Sums events and lets a log line through at most once per `everyMs`, carrying the count since the last
 * line: an outbox that is full at 100 Hz drops a reading per append, and one warning per drop would bury
 * everything else in the log.
 */
export class LogThrottle {
  private pending = 0;
  private lastAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly everyMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Adds `n` events; returns how many to report now, or undefined while the line is held back. */
  add(n: number): number | undefined {
    this.pending += n;
    const t = this.now();
    if (t - this.lastAt < this.everyMs) return undefined;
    const count = this.pending;
    this.pending = 0;
    this.lastAt = t;
    return count;
  }
}
