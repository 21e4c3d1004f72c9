/**
 * Pure helpers of the ingest benchmark: percentiles, Prometheus histograms (parse, subtract, quantile)
 * and the text table. No I/O here, so tools/test/bench-stats.test.ts can check them directly.
 */

/** The p-th percentile (0..100) of `values`, linearly interpolated between ranks; NaN when empty. */
export function percentile(values: readonly number[], p: number): number {
  if (!values.length) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (Math.min(100, Math.max(0, p)) / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  const a = sorted[lo]!;
  const b = sorted[hi]!;
  return a + (b - a) * (rank - lo);
}

/** A Prometheus histogram: cumulative bucket counts by upper bound (`le`, +Inf last), sum and count. */
export interface Histogram {
  buckets: { le: number; count: number }[];
  sum: number;
  count: number;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{([^}]*)\})?\s+(\S+)/;

function labelValue(labels: string, name: string): string | undefined {
  const m = new RegExp(`(?:^|,)\\s*${name}="((?:[^"\\\\]|\\\\.)*)"`).exec(labels);
  return m?.[1];
}

function parseValue(text: string): number {
  if (text === '+Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  return Number(text);
}

/**
 * The histogram `name` from a Prometheus text exposition, summed over all its label sets (two receivers'
 * scrapes are merged with addHistograms). Undefined when the exposition has no such histogram.
 */
export function parseHistogram(text: string, name: string): Histogram | undefined {
  const byLe = new Map<number, number>();
  let sum = 0;
  let count = 0;
  let seen = false;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name) || line.startsWith('#')) continue;
    const m = SAMPLE.exec(line);
    if (!m) continue;
    const [, metric, labels = '', raw = ''] = m;
    const value = parseValue(raw);
    if (metric === `${name}_bucket`) {
      const le = labelValue(labels, 'le');
      if (le === undefined) continue;
      const bound = parseValue(le);
      byLe.set(bound, (byLe.get(bound) ?? 0) + value);
      seen = true;
    } else if (metric === `${name}_sum`) {
      sum += value;
      seen = true;
    } else if (metric === `${name}_count`) {
      count += value;
      seen = true;
    }
  }
  if (!seen) return undefined;
  const buckets = [...byLe].map(([le, c]) => ({ le, count: c })).sort((a, b) => a.le - b.le);
  return { buckets, sum, count };
}

/** Value of a counter or gauge `name`, summed over its label sets (0 when absent). */
export function parseCounter(text: string, name: string): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = SAMPLE.exec(line);
    if (m?.[1] === name) total += parseValue(m[3] ?? '0');
  }
  return total;
}

function combine(a: Histogram, b: Histogram, sign: 1 | -1): Histogram {
  const byLe = new Map<number, number>();
  for (const x of a.buckets) byLe.set(x.le, x.count);
  for (const x of b.buckets) byLe.set(x.le, (byLe.get(x.le) ?? 0) + sign * x.count);
  return {
    buckets: [...byLe].map(([le, count]) => ({ le, count })).sort((x, y) => x.le - y.le),
    sum: a.sum + sign * b.sum,
    count: a.count + sign * b.count,
  };
}

export const emptyHistogram = (): Histogram => ({ buckets: [], sum: 0, count: 0 });

/** Bucket-wise sum (two receivers). */
export function addHistograms(a: Histogram, b: Histogram): Histogram {
  return combine(a, b, 1);
}

/** What was observed between two scrapes of the same process (`later` − `earlier`). */
export function subtractHistogram(later: Histogram, earlier: Histogram): Histogram {
  return combine(later, earlier, -1);
}

/**
 * The q-quantile (0..1) the way Prometheus' histogram_quantile() estimates it: find the bucket holding
 * rank q·count and interpolate linearly inside it (from 0 for the first bucket). A rank in the +Inf
 * bucket returns the largest finite bound. NaN when the histogram is empty.
 */
export function histogramQuantile(h: Histogram, q: number): number {
  if (h.count <= 0 || !h.buckets.length) return NaN;
  const rank = Math.min(1, Math.max(0, q)) * h.count;
  let prevLe = 0;
  let prevCount = 0;
  for (const { le, count } of h.buckets) {
    if (count >= rank && count > prevCount) {
      if (le === Infinity) return prevLe;
      return prevLe + (le - prevLe) * ((rank - prevCount) / (count - prevCount));
    }
    if (le !== Infinity) prevLe = le;
    prevCount = count;
  }
  return prevLe;
}

/** Compact number for the table: 1234567 → `1,234,567`, 0.1234 → `0.12`, NaN → `–`. */
export function fmt(n: number | undefined, digits = 0): string {
  if (n === undefined || !Number.isFinite(n)) return '–';
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export interface Column<T> {
  title: string;
  value: (row: T) => string;
  /** Default right (numbers); left for names. */
  align?: 'left' | 'right';
}

/** A plain-text table: a header, a rule, one line per row; columns as wide as their widest cell. */
export function formatTable<T>(columns: readonly Column<T>[], rows: readonly T[]): string {
  const cells = rows.map((r) => columns.map((c) => c.value(r)));
  const widths = columns.map((c, i) => Math.max(c.title.length, ...cells.map((row) => row[i]!.length)));
  const line = (values: string[]): string =>
    values
      .map((v, i) => (columns[i]!.align === 'left' ? v.padEnd(widths[i]!) : v.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [
    line(columns.map((c) => c.title)),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...cells.map((row) => line(row)),
  ].join('\n');
}
