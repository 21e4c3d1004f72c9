/** Inclusive seq range [from, to]. Acks carry ranges: a contiguous batch of 1000 seqs is 2 numbers. */
export type SeqRange = [number, number];

/** Sorted, merged ranges of the given seqs (duplicates ignored). */
export function toRanges(seqs: Iterable<number>): SeqRange[] {
  const sorted = [...new Set(seqs)].sort((a, b) => a - b);
  const ranges: SeqRange[] = [];
  for (const seq of sorted) {
    const last = ranges[ranges.length - 1];
    if (last && seq === last[1] + 1) last[1] = seq;
    else ranges.push([seq, seq]);
  }
  return ranges;
}

/** Every seq in the ranges, ascending; ranges with from > to are ignored; `limit` guards hostile input. */
export function fromRanges(ranges: readonly (readonly [number, number])[], limit = 1_000_000): number[] {
  const out: number[] = [];
  for (const [from, to] of ranges) {
    for (let s = from; s <= to; s++) {
      if (out.length >= limit) throw new RangeError(`ranges name more than ${limit} seqs`);
      out.push(s);
    }
  }
  return out;
}

export function rangesCount(ranges: readonly (readonly [number, number])[]): number {
  return ranges.reduce((n, [from, to]) => n + Math.max(0, to - from + 1), 0);
}
