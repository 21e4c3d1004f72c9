/**
 * Exponential backoff with jitter (AWS architecture blog, "Exponential Backoff And Jitter", the "equal
 * jitter" variant): attempt n waits a random time in [upper/2, upper] with upper = min · 2^(n+1), capped at
 * max, and never less than min. After a broker outage a fleet of devices reconnects spread out instead of
 * all at once — also on the first retry and at the cap — while a single device still retries quickly.
 */
export class ReconnectBackoff {
  private attempt = 0;

  constructor(
    private readonly minMs: number,
    private readonly maxMs: number,
    private readonly random: () => number = Math.random,
  ) {
    if (!(minMs > 0) || !(maxMs > 0)) throw new RangeError('backoff bounds must be > 0');
  }

  /** The range the next delay is drawn from (for logs and tests). */
  range(): { lowerMs: number; upperMs: number } {
    const max = Math.max(this.minMs, this.maxMs);
    const upperMs = Math.min(max, this.minMs * 2 ** Math.min(this.attempt + 1, 40));
    const lowerMs = Math.min(upperMs, Math.max(this.minMs, upperMs / 2));
    return { lowerMs, upperMs };
  }

  /** Delay before the next attempt; each call doubles the range until it reaches the cap. */
  next(): number {
    const { lowerMs, upperMs } = this.range();
    this.attempt++;
    return Math.round(lowerMs + (upperMs - lowerMs) * this.random());
  }

  reset(): void {
    this.attempt = 0;
  }

  get attempts(): number {
    return this.attempt;
  }
}
