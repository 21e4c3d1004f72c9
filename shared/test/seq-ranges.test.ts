import { describe, expect, it } from 'vitest';
import { fromRanges, rangesCount, toRanges } from '../src/index.js';

describe('seq ranges', () => {
  it('merges contiguous seqs, sorts and drops duplicates', () => {
    expect(toRanges([5, 1, 2, 3, 3, 7, 8])).toEqual([
      [1, 3],
      [5, 5],
      [7, 8],
    ]);
    expect(toRanges([])).toEqual([]);
  });
  it('expands ranges back', () => {
    expect(
      fromRanges([
        [1, 3],
        [7, 8],
      ]),
    ).toEqual([1, 2, 3, 7, 8]);
    expect(
      rangesCount([
        [1, 3],
        [7, 8],
        [9, 2],
      ]),
    ).toBe(5);
  });
  it('refuses to expand hostile ranges beyond the limit', () => {
    expect(() => fromRanges([[1, 1e12]], 1000)).toThrow(/more than 1000/);
  });
});
