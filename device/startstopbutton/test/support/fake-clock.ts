import type { Clock, TimerHandle } from '../../src/clock.js';

interface FakeTimer {
  at: number;
  fn: () => void;
  intervalMs: number | undefined;
}

/** Lets every pending promise callback run (microtasks drain completely before an immediate fires). */
export async function flushAsync(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/**
 * A manual Clock: time only moves in advance(), which fires due timers in time order and lets promise
 * callbacks run after each one, so async code interleaves as it would in real time.
 */
export class FakeClock implements Clock {
  private t: number;
  private nextId = 1;
  private readonly timers = new Map<number, FakeTimer>();

  constructor(startMs = 1_000) {
    this.t = startMs;
  }

  now(): number {
    return this.t;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    return this.add(fn, ms, undefined);
  }

  clearTimeout(handle: TimerHandle): void {
    if (typeof handle === 'number') this.timers.delete(handle);
  }

  setInterval(fn: () => void, ms: number): TimerHandle {
    return this.add(fn, ms, Math.max(1, ms));
  }

  clearInterval(handle: TimerHandle): void {
    this.clearTimeout(handle);
  }

  /** Number of armed timers and intervals. */
  get pendingTimers(): number {
    return this.timers.size;
  }

  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    await flushAsync();
    for (;;) {
      const due = this.nextDue(end);
      if (!due) break;
      const [id, timer] = due;
      this.t = Math.max(this.t, timer.at);
      if (timer.intervalMs === undefined) this.timers.delete(id);
      else timer.at += timer.intervalMs;
      timer.fn();
      await flushAsync();
    }
    this.t = end;
    await flushAsync();
  }

  private add(fn: () => void, ms: number, intervalMs: number | undefined): number {
    const id = this.nextId++;
    this.timers.set(id, { at: this.t + Math.max(0, ms), fn, intervalMs });
    return id;
  }

  private nextDue(end: number): [number, FakeTimer] | undefined {
    let best: [number, FakeTimer] | undefined;
    for (const entry of this.timers) {
      if (entry[1].at > end) continue;
      if (!best || entry[1].at < best[1].at) best = entry;
    }
    return best;
  }
}
