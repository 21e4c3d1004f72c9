import { describe, expect, it } from 'vitest';
import { ClockJumpDetector } from '../src/clock-jump-detector.js';

const T0 = Date.parse('2026-01-01T12:00:00.000Z');

describe('ClockJumpDetector', () => {
  it('reports nothing while both clocks advance together, however late the samples come', () => {
    const d = new ClockJumpDetector(2000);
    for (let mono = 0; mono < 600_000; mono += 997) expect(d.sample(T0 + mono, mono)).toBeUndefined();
    expect(d.sample(T0 + 3_600_000, 3_600_000)).toBeUndefined(); // an hour between samples, no step
  });

  it('reports a step back of an hour once, with its size and the new wall time', () => {
    const d = new ClockJumpDetector(2000);
    d.sample(T0, 10_000);
    expect(d.sample(T0 + 1000 - 3_600_000, 11_000)).toEqual({
      at: new Date(T0 + 1000 - 3_600_000).toISOString(),
      byMs: -3_600_000,
    });
    expect(d.sample(T0 + 2000 - 3_600_000, 12_000)).toBeUndefined();
  });

  it('reports a step forward too (an RTC-less board getting NTP time)', () => {
    const d = new ClockJumpDetector(2000);
    d.sample(0, 5000);
    expect(d.sample(T0, 6000)?.byMs).toBe(T0 - 1000);
  });

  it('ignores drift up to the threshold and reports just above it, in both directions', () => {
    const d = new ClockJumpDetector(2000);
    d.sample(T0, 0);
    expect(d.sample(T0 + 1000 + 2000, 1000)).toBeUndefined();
    expect(d.sample(T0 + 2000 + 2000 - 2000, 2000)).toBeUndefined();
    expect(d.sample(T0 + 3000 - 2001, 3000)?.byMs).toBe(-2001);
    expect(d.sample(T0 + 4000 - 2001 + 2001, 4000)?.byMs).toBe(2001);
  });
});
