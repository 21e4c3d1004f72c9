import { describe, expect, it } from 'vitest';
import { treePids } from '../src/bench/proc-tree.js';

describe('treePids', () => {
  it('returns the root and all its descendants, not its siblings', () => {
    const parents = new Map([
      [10, 1],
      [11, 10],
      [12, 11],
      [13, 10],
      [20, 1],
    ]);
    expect(treePids(parents, 10).sort()).toEqual([10, 11, 12, 13]);
  });
  it('returns the root alone when it has no children (or is not listed)', () => {
    expect(treePids(new Map([[5, 1]]), 7)).toEqual([7]);
  });
});
