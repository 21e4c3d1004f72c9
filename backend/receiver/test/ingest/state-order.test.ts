import { describe, expect, it } from 'vitest';
import { isNewerState } from '../../src/ingest/state-order.js';

const T = Date.UTC(2026, 10, 23, 10, 0, 0);

describe('isNewerState', () => {
  it('orders by revision when both states have one, whatever their ts', () => {
    expect(isNewerState({ at: T - 3_600_000, rev: 8 }, { at: T, rev: 7 })).toBe(true);
    expect(isNewerState({ at: T + 3_600_000, rev: 6 }, { at: T, rev: 7 })).toBe(false);
  });

  it('the same state again counts as newer (idempotent re-apply)', () => {
    expect(isNewerState({ at: T, rev: 7 }, { at: T, rev: 7 })).toBe(true);
    expect(isNewerState({ at: T }, { at: T })).toBe(true);
  });

  it('falls back to ts when either side has no revision', () => {
    expect(isNewerState({ at: T + 1, rev: 1 }, { at: T })).toBe(true);
    expect(isNewerState({ at: T - 1, rev: 100 }, { at: T })).toBe(false);
    expect(isNewerState({ at: T - 1 }, { at: T, rev: 1 })).toBe(false);
    expect(isNewerState({ at: T + 1 }, { at: T, rev: 1 })).toBe(true);
  });
});
