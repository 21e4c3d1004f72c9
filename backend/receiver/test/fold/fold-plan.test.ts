import { describe, expect, it } from 'vitest';
import { mergeRanges } from '../../src/fold/fold-plan.js';

describe('mergeRanges: the union the fold scans', () => {
  it('merges one-seq ranges of many batches into one range per device', () => {
    const ranges: [string, number, number][] = [];
    for (let batch = 0; batch < 50; batch++) {
      for (const device of ['b', 'a', 'c']) ranges.push([device, batch + 1, batch + 1]);
    }
    expect(mergeRanges(ranges)).toEqual([
      ['a', 1, 50],
      ['b', 1, 50],
      ['c', 1, 50],
    ]);
  });

  it('bridges gaps up to maxGap and keeps larger gaps apart', () => {
    expect(
      mergeRanges(
        [
          ['a', 10, 20],
          ['a', 1, 5],
          ['a', 2000, 2001],
          ['a', 22, 25],
        ],
        5,
      ),
    ).toEqual([
      ['a', 1, 25],
      ['a', 2000, 2001],
    ]);
  });

  it('handles overlapping and contained ranges, and never merges across devices', () => {
    expect(
      mergeRanges([
        ['a', 1, 100],
        ['a', 50, 60],
        ['a', 90, 120],
        ['b', 101, 101],
      ]),
    ).toEqual([
      ['a', 1, 120],
      ['b', 101, 101],
    ]);
    expect(mergeRanges([])).toEqual([]);
  });

  it('does not change its input', () => {
    const input: [string, number, number][] = [
      ['a', 5, 6],
      ['a', 1, 2],
    ];
    mergeRanges(input);
    expect(input).toEqual([
      ['a', 5, 6],
      ['a', 1, 2],
    ]);
  });
});
