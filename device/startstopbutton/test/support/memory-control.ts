import type { MeasuringControl } from '../../src/start-stop-button.js';

/**
 * In-memory MeasuringControl. Optional delay (on the injected sleep) to keep toggles in flight, scripted
 * failures, and bookkeeping of concurrency.
 */
export class MemoryMeasuringControl implements MeasuringControl {
  running = false;
  backlog = 0;
  toggleCalls = 0;
  inFlight = 0;
  maxInFlight = 0;
  /** The next N toggles reject (e.g. Redis down). */
  failToggles = 0;
  /** current() rejects while true. */
  failCurrent = false;
  toggleDelayMs = 0;
  readonly history: boolean[] = [];

  constructor(private readonly sleep: (ms: number) => Promise<void> = async () => {}) {}

  async toggle(source: 'button'): Promise<{ running: boolean }> {
    if (source !== 'button') throw new Error(`unexpected source ${String(source)}`);
    this.toggleCalls++;
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      if (this.toggleDelayMs > 0) await this.sleep(this.toggleDelayMs);
      if (this.failToggles > 0) {
        this.failToggles--;
        throw new Error('connect ECONNREFUSED 127.0.0.1:6379');
      }
      this.running = !this.running;
      this.history.push(this.running);
      return { running: this.running };
    } finally {
      this.inFlight--;
    }
  }

  async current(): Promise<{ running: boolean; backlog: number }> {
    if (this.failCurrent) throw new Error('connect ECONNREFUSED 127.0.0.1:6379');
    return { running: this.running, backlog: this.backlog };
  }
}
