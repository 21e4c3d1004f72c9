import { describe, expect, it } from 'vitest';
import { ReconnectBackoff } from '../src/reconnect-backoff.js';

/** Delays of the first `n` attempts with a fixed random value. */
function delays(random: number, n = 12, min = 2000, max = 300_000): number[] {
  const b = new ReconnectBackoff(min, max, () => random);
  return Array.from({ length: n }, () => b.next());
}

describe('ReconnectBackoff', () => {
  it('starts at the minimum and doubles up to the cap (defaults 2 s → 300 s)', () => {
    expect(delays(0)).toEqual([
      2000, 4000, 8000, 16_000, 32_000, 64_000, 128_000, 150_000, 150_000, 150_000, 150_000, 150_000,
    ]);
    expect(delays(1)).toEqual([
      4000, 8000, 16_000, 32_000, 64_000, 128_000, 256_000, 300_000, 300_000, 300_000, 300_000, 300_000,
    ]);
  });

  it('stays within [min, max] for any random value and any number of attempts', () => {
    for (const random of [0, 0.001, 0.37, 0.5, 0.999, 1]) {
      for (const d of delays(random, 200)) {
        expect(d).toBeGreaterThanOrEqual(2000);
        expect(d).toBeLessThanOrEqual(300_000);
      }
    }
  });

  it('jitters every attempt over half its range, the first and the capped ones included', () => {
    const b = new ReconnectBackoff(2000, 300_000);
    expect(b.range()).toEqual({ lowerMs: 2000, upperMs: 4000 });
    for (let i = 0; i < 20; i++) b.next();
    expect(b.range()).toEqual({ lowerMs: 150_000, upperMs: 300_000 });
    // with Math.random, a fleet's first retries spread over 2–4 s
    const firsts = Array.from({ length: 500 }, () => new ReconnectBackoff(2000, 300_000).next());
    expect(Math.min(...firsts)).toBeLessThan(2200);
    expect(Math.max(...firsts)).toBeGreaterThan(3800);
    expect(new Set(firsts).size).toBeGreaterThan(300);
  });

  it('starts over after a successful connect', () => {
    const b = new ReconnectBackoff(100, 10_000, () => 0);
    b.next();
    b.next();
    b.next();
    expect(b.attempts).toBe(3);
    b.reset();
    expect(b.attempts).toBe(0);
    expect(b.next()).toBe(100);
  });

  it('copes with min ≥ max (a misconfiguration) by using min', () => {
    expect(delays(0.5, 3, 5000, 1000)).toEqual([5000, 5000, 5000]);
  });
});
