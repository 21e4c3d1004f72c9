import { describe, expect, it } from 'vitest';
import { clockJumpSummary } from '../src/web/clock-jump.js';

describe('clockJumpSummary', () => {
  it('says nothing for a device that reported no jump (or nonsense counts)', () => {
    expect(clockJumpSummary(undefined)).toBeUndefined();
    expect(clockJumpSummary({})).toBeUndefined();
    expect(clockJumpSummary({ clockJumps: 0 })).toBeUndefined();
    expect(clockJumpSummary({ clockJumps: -1 })).toBeUndefined();
    expect(clockJumpSummary({ clockJumps: 'x' as unknown as number })).toBeUndefined();
  });

  it('names the direction and size of the last jump', () => {
    expect(clockJumpSummary({ clockJumps: 1, lastClockJump: { at: 'x', byMs: -3_600_000 } })).toBe(
      'clock jumped once, last back by 1 h',
    );
    expect(clockJumpSummary({ clockJumps: 3, lastClockJump: { byMs: 90_000 } })).toBe(
      'clock jumped 3 times, last ahead by 1.5 min',
    );
    expect(clockJumpSummary({ clockJumps: 2, lastClockJump: null })).toBe('clock jumped 2 times');
  });
});
