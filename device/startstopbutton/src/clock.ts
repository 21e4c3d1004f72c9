import { performance } from 'node:perf_hooks';

/** Opaque handle returned by {@link Clock.setTimeout} / {@link Clock.setInterval}. */
export type TimerHandle = unknown;

/**
 * Time source and timers, injected so that debouncing, LED blinking and refresh intervals can be tested
 * with a fake clock. `now()` is a monotonic millisecond counter (not wall-clock time): only differences
 * between two values are meaningful.
 */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
  setInterval(fn: () => void, ms: number): TimerHandle;
  clearInterval(handle: TimerHandle): void;
}

/** The real clock: `performance.now()` and Node's timers. */
export const systemClock: Clock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
  setInterval: (fn, ms) => setInterval(fn, ms),
  clearInterval: (handle) => clearInterval(handle as NodeJS.Timeout),
};
