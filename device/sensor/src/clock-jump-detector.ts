/** A wall-clock step seen by the sensor: when (on the new wall clock) and by how much (negative = back). */
export interface ClockJump {
  at: string;
  byMs: number;
}

/**
 * Below this the offset between wall and monotonic clock moves by NTP slewing (at most 0.5 ms/s) and by
 * how late a tick runs; a step of a real clock change (NTP step, RTC-less boot, an operator's `date`) is
 * seconds to months.
 */
export const DEFAULT_CLOCK_JUMP_THRESHOLD_MS = 2000;

/**
 * Detects wall-clock jumps by watching the offset `wall − monotonic`: both clocks advance together, so the
 * offset only changes when the wall clock is set. Pure: the caller samples both clocks (each tick) and
 * gets a jump back when the offset moved by more than the threshold since the last sample; the new offset
 * is the baseline from then on, so one step is reported once.
 */
export class ClockJumpDetector {
  private offset: number | undefined;

  constructor(private readonly thresholdMs = DEFAULT_CLOCK_JUMP_THRESHOLD_MS) {}

  sample(wallMs: number, monotonicMs: number): ClockJump | undefined {
    const offset = wallMs - monotonicMs;
    const previous = this.offset;
    this.offset = offset;
    if (previous === undefined) return undefined;
    const byMs = Math.round(offset - previous);
    if (Math.abs(byMs) <= this.thresholdMs) return undefined;
    return { at: new Date(wallMs).toISOString(), byMs };
  }
}
