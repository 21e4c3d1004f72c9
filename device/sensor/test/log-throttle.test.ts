import { describe, expect, it } from 'vitest';
import { LogThrottle } from '../src/log-throttle.js';

describe('LogThrottle', () => {
  it('lets the first event through, then one line per period with the count since the last line', () => {
    let t = 0;
    const throttle = new LogThrottle(60_000, () => t);
    expect(throttle.add(1)).toBe(1);
    t = 1000;
    expect(throttle.add(5)).toBeUndefined();
    t = 59_999;
    expect(throttle.add(1)).toBeUndefined();
    t = 60_000;
    expect(throttle.add(2)).toBe(8);
    t = 200_000;
    expect(throttle.add(1)).toBe(1);
  });
});
