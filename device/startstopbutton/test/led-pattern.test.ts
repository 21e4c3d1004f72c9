import { describe, expect, it } from 'vitest';
import { ledLevel, ledMode } from '../src/led-pattern.js';

describe('led pattern', () => {
  it('stopped → off, even with a backlog', () => {
    expect(ledMode({ running: false, backlog: 0 })).toBe('off');
    expect(ledMode({ running: false, backlog: 12 })).toBe('off');
    for (const t of [0, 250, 500, 750]) expect(ledLevel({ running: false, backlog: 3 }, t)).toBe(false);
  });

  it('running and all acked → steady on', () => {
    expect(ledMode({ running: true, backlog: 0 })).toBe('on');
    for (const t of [0, 250, 500, 750]) expect(ledLevel({ running: true, backlog: 0 }, t)).toBe(true);
  });

  it('running with a backlog → 1 Hz blink, on in the first half second', () => {
    const s = { running: true, backlog: 5 };
    expect(ledMode(s)).toBe('blink');
    expect([0, 499, 500, 999, 1000, 1500, 2000].map((t) => ledLevel(s, t))).toEqual([
      true,
      true,
      false,
      false,
      true,
      false,
      true,
    ]);
    expect(ledLevel(s, -250)).toBe(false);
  });
});
