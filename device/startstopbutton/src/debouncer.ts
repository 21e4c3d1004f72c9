/**
 * Pure push-button debouncer. It owns no timers: feed it raw edges with their timestamps (`input`) and, when
 * the line has gone quiet, call `poll` at or after `deadline()`; the caller decides how to wait (see
 * StartStopButton, which uses an injected clock).
 *
 * A level counts once it has been stable for `debounceMs` after the last edge. Every edge restarts that quiet
 * window, so a bounce train of any length yields at most one level change. A 'press' is the debounced change
 * to the active level; a 'release' the change back. Holding the button does not repeat; glitches shorter
 * than `debounceMs` are ignored.
 */

export type RawLevel = 0 | 1;
export type ButtonEvent = 'press' | 'release';

export interface DebouncerOptions {
  /** How long the line must be quiet before a level counts; default 50 ms. */
  debounceMs?: number;
  /** Pressed reads 0 (button to GND with a pull-up — the usual wiring); default true. */
  activeLow?: boolean;
}

export const DEFAULT_DEBOUNCE_MS = 50;

export class Debouncer {
  readonly debounceMs: number;
  readonly activeLevel: RawLevel;
  private stable: RawLevel;
  private candidate: RawLevel;
  private lastEdgeAtMs: number | undefined;

  constructor(opts: DebouncerOptions = {}) {
    const debounceMs = opts.debounceMs ?? DEFAULT_DEBOUNCE_MS;
    if (!Number.isFinite(debounceMs) || debounceMs < 0) {
      throw new RangeError(`debounceMs must be a number >= 0, got ${debounceMs}`);
    }
    this.debounceMs = debounceMs;
    this.activeLevel = (opts.activeLow ?? true) ? 0 : 1;
    // Start released: a button held down at start-up is not a press (its release just settles).
    this.stable = this.inactiveLevel;
    this.candidate = this.stable;
  }

  get inactiveLevel(): RawLevel {
    return this.activeLevel === 0 ? 1 : 0;
  }

  /** The debounced state. */
  get pressed(): boolean {
    return this.stable === this.activeLevel;
  }

  /**
   * A raw edge (the level read after an interrupt) at `atMs`. Settles a pending level first if its quiet
   * window had already elapsed before this edge, so the result does not depend on how promptly `poll` ran.
   */
  input(level: RawLevel, atMs: number): ButtonEvent | undefined {
    const settled = this.poll(atMs);
    this.candidate = level;
    this.lastEdgeAtMs = atMs;
    return settled;
  }

  /** When `poll` can next produce an event, or undefined if nothing is pending. */
  deadline(): number | undefined {
    if (this.lastEdgeAtMs === undefined || this.candidate === this.stable) return undefined;
    return this.lastEdgeAtMs + this.debounceMs;
  }

  /** Settles the pending level if it has been quiet for `debounceMs` by `atMs`. */
  poll(atMs: number): ButtonEvent | undefined {
    const due = this.deadline();
    if (due === undefined || atMs < due) return undefined;
    this.stable = this.candidate;
    return this.stable === this.activeLevel ? 'press' : 'release';
  }
}
