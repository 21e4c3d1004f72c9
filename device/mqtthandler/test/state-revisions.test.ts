import { describe, expect, it } from 'vitest';
import { RESTART_GAP, startFloor } from '../src/state-revisions.js';

const NOW = Date.UTC(2026, 11, 3, 7, 0, 0);

describe('startFloor', () => {
  it('a restarted process starts past the stored revision, even with the wall clock set back', () => {
    expect(startFloor(NOW + 50, NOW - 3_600_000)).toBe(NOW + 50 + RESTART_GAP);
  });

  it('without a stored revision (fresh or wiped Redis) it starts from the wall clock in ms', () => {
    expect(startFloor(0, NOW + 0.7)).toBe(NOW);
    expect(startFloor(12, NOW)).toBe(NOW);
  });
});
