/**
 * The pure half of the fold (fold-writer.ts runs the SQL): many batch records merged into one upsert row
 * per counter minute, rejection, device and rollup bucket, each list in key order so that every run locks
 * rows in the same order.
 */
import type { BatchRecord, MinuteTuple } from '../ingest/batch-record.js';
import type { CounterRow, RejectionCount } from '../ingest/ingest-counters.js';
import type { ReadingRow } from '../ingest/reading-plan.js';
import type { TouchRow } from '../ingest/registry-updates.js';

/** One rollup bucket of one device and sensor: a `readings_1m` / `readings_1h` row's increment. */
export interface Aggregate {
  device_id: string;
  sensor: string;
  bucket: string;
  n: number;
  sum_value: number;
  min_value: number;
  max_value: number;
}

export interface MergedRecords {
  /**
   * The ranges of the batches without minute rollups (written by older receivers), as recorded: their rows
   * are aggregated from `readings` (mergeRanges makes them the scan).
   */
  ranges: [string, number, number][];
  /** The minute rollups the other batches carry, one per bucket (rollupsOf merges them with the rest). */
  minutes: Aggregate[];
  counters: CounterRow[];
  rejections: RejectionCount[];
  touch: TouchRow[];
}

/** The parts joined by NUL. Built for every row and rollup bucket: concatenated, no array joined. */
function keyOf(...parts: (string | number)[]): string {
  let key = String(parts[0]);
  for (let i = 1; i < parts.length; i++) key += '\u0000' + parts[i];
  return key;
}

/**
 * A map's values in the order of its keys. The maps here are keyed by exactly the sort key, so no key is
 * built again: computing both keys in every comparison was most of the fold's sorting time (a fold
 * sorts ~5,000 rollup buckets twice with 1,000 live devices).
 */
export function valuesInKeyOrder<T>(map: ReadonlyMap<string, T>): T[] {
  const keys = [...map.keys()].sort();
  return keys.map((k) => map.get(k)!);
}

function mergeTouch(into: Map<string, TouchRow>, t: TouchRow): void {
  const prev = into.get(t.id);
  if (!prev) {
    into.set(t.id, { ...t });
    return;
  }
  const later = (a: string | null, b: string | null) => (a === null ? b : b === null ? a : a > b ? a : b);
  if (t.firstSeen < prev.firstSeen) prev.firstSeen = t.firstSeen;
  if (t.lastSeen !== null && (prev.lastSeen === null || t.lastSeen >= prev.lastSeen) && t.protocol !== null) {
    prev.protocol = t.protocol;
  }
  prev.lastSeen = later(prev.lastSeen, t.lastSeen);
  prev.lastDataAt = later(prev.lastDataAt, t.lastDataAt);
  if (t.lastSeq !== null && (prev.lastSeq === null || t.lastSeq > prev.lastSeq)) prev.lastSeq = t.lastSeq;
}

/** The records of the batches one fold takes, merged (the records' objects are reused). */
export function mergeRecords(records: readonly BatchRecord[]): MergedRecords {
  const ranges: [string, number, number][] = [];
  // Merged here, not in rollupsOf: every device's bucket comes in several batches' records (5 per fold
  // with 1-reading messages at 1 Hz), and one object per record's tuple was most of the fold's garbage.
  const minutes = new Map<string, Aggregate>();
  const counters = new Map<string, CounterRow>();
  const rejections = new Map<string, RejectionCount>();
  const touch = new Map<string, TouchRow>();
  for (const b of records) {
    if (b.minutes) for (const m of b.minutes) mergeMinuteTuple(minutes, m);
    else for (const r of b.ranges) ranges.push(r);
    for (const c of b.counters) {
      const k = keyOf(c.minute, c.deviceId);
      const prev = counters.get(k);
      if (!prev) counters.set(k, c);
      else {
        prev.messages += c.messages;
        prev.readings += c.readings;
        prev.storedReadings += c.storedReadings;
        prev.duplicateReadings += c.duplicateReadings;
        prev.rejectedReadings += c.rejectedReadings;
        prev.rejectedMessages += c.rejectedMessages;
        prev.storedRows += c.storedRows;
      }
    }
    for (const r of b.rejections) {
      const k = keyOf(r.minute, r.deviceId, r.scope, r.reason);
      const prev = rejections.get(k);
      if (prev) prev.n += r.n;
      else rejections.set(k, r);
    }
    for (const t of b.touch) mergeTouch(touch, t);
  }
  return {
    ranges,
    minutes: [...minutes.values()],
    counters: valuesInKeyOrder(counters),
    rejections: valuesInKeyOrder(rejections),
    touch: valuesInKeyOrder(touch),
  };
}

/**
 * The union of (device, from, to) ranges, per device in seq order, bridging gaps up to `maxGap` seqs as the
 * ingest does when it records them (reading-plan.ts seqRanges): a bridged gap only makes the scan read rows
 * that the batch_id condition then leaves out.
 */
export function mergeRanges(
  ranges: readonly [string, number, number][],
  maxGap = 1000,
): [string, number, number][] {
  const sorted = [...ranges].sort((a, b) => (a[0] !== b[0] ? (a[0] < b[0] ? -1 : 1) : a[1] - b[1]));
  const out: [string, number, number][] = [];
  for (const [device, from, to] of sorted) {
    const last = out[out.length - 1];
    if (last && last[0] === device && from - last[2] <= maxGap) last[2] = Math.max(last[2], to);
    else out.push([device, from, to]);
  }
  return out;
}

/** Adds `a` to its bucket's row in `into` (a new row, never `a` itself: callers keep their objects). */
function mergeAggregate(into: Map<string, Aggregate>, a: Aggregate, bucket = a.bucket): void {
  const k = keyOf(a.device_id, a.sensor, bucket);
  const prev = into.get(k);
  if (!prev) {
    into.set(k, { ...a, bucket });
    return;
  }
  prev.n += a.n;
  prev.sum_value += a.sum_value;
  prev.min_value = Math.min(prev.min_value, a.min_value);
  prev.max_value = Math.max(prev.max_value, a.max_value);
}

/** Minute aggregates (possibly several per bucket, from several SELECTs) → minute and hour rollup rows. */
export function rollupsOf(perMinute: readonly Aggregate[]): { minutes: Aggregate[]; hours: Aggregate[] } {
  const minutes = new Map<string, Aggregate>();
  for (const a of perMinute) mergeAggregate(minutes, a);
  const hours = new Map<string, Aggregate>();
  for (const m of minutes.values()) mergeAggregate(hours, m, `${m.bucket.slice(0, 13)}:00:00`);
  return { minutes: valuesInKeyOrder(minutes), hours: valuesInKeyOrder(hours) };
}

function mergeMinuteTuple(into: Map<string, Aggregate>, m: MinuteTuple): void {
  const [device_id, sensor, bucket, n, sum_value, min_value, max_value] = m;
  const k = keyOf(device_id, sensor, bucket);
  const prev = into.get(k);
  if (!prev) {
    into.set(k, { device_id, sensor, bucket, n, sum_value, min_value, max_value });
    return;
  }
  prev.n += n;
  prev.sum_value += sum_value;
  prev.min_value = Math.min(prev.min_value, min_value);
  prev.max_value = Math.max(prev.max_value, max_value);
}

/**
 * The minute rollups of the rows one batch stored, for its batch record: what the fold's GROUP BY over
 * those rows would give (the bucket is measured_at's UTC minute, the value the double the row's text parses
 * to). Computed where the rows are at hand, so the fold does not read them back from `readings`.
 */
export function minutesOfRows(rows: readonly ReadingRow[]): MinuteTuple[] {
  const byKey = new Map<string, MinuteTuple>();
  for (const [deviceId, , sensor, text, measuredAt] of rows) {
    const minute = `${measuredAt.slice(0, 16)}:00`;
    const value = Number(text);
    const k = keyOf(deviceId, sensor, minute);
    const m = byKey.get(k);
    if (!m) byKey.set(k, [deviceId, sensor, minute, 1, value, value, value]);
    else {
      m[3] += 1;
      m[4] += value;
      if (value < m[5]) m[5] = value;
      if (value > m[6]) m[6] = value;
    }
  }
  return [...byKey.values()];
}
