import { describe, expect, it } from 'vitest';
import { LatencyCollector } from '../src/bench/latency-collector.js';

describe('LatencyCollector', () => {
  it('summarises only the samples measured inside the window, [from, to)', () => {
    const c = new LatencyCollector();
    for (let i = 0; i < 100; i++) c.add(1000 + i, i + 1); // measured 1000..1099, latency 1..100
    c.add(999, 10_000); // before the window
    c.add(1100, 10_000); // at its end: outside
    const s = c.summary({ fromMs: 1000, toMs: 1100 });
    expect(s.samples).toBe(100);
    expect(s.p50Ms).toBeCloseTo(50.5);
    expect(s.p99Ms).toBeCloseTo(99.01);
    expect(s.maxMs).toBe(100);
    expect(c.size).toBe(102);
  });

  it('an empty window has no figures, and non-numbers are not samples', () => {
    const c = new LatencyCollector();
    c.add(Number.NaN, 5);
    c.add(5, Number.NaN);
    const s = c.summary({ fromMs: 0, toMs: 10 });
    expect(s.samples).toBe(0);
    expect(Number.isNaN(s.p99Ms)).toBe(true);
    expect(c.size).toBe(0);
  });
});
