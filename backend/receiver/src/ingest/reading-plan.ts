/**
 * Which rows a batch writes to `readings`, and what became of each reading (pure; readings-writer.ts runs
 * the SQL).
 *
 * A reading is identified by (device, seq). Three outcomes:
 *  - stored:    its rows were inserted by this batch;
 *  - duplicate: the same reading (same measured_at, same sent values) was already stored — a replay;
 *  - conflict:  a DIFFERENT reading is stored under that (device, seq). After a Redis crash with
 *               appendfsync everysec the device's seq counter can go back by up to a second, so new
 *               readings reuse seqs of old ones. INSERT IGNORE would drop them silently; instead the ack
 *               rejects them with reason `seq_conflict` and the device re-appends them above `highestSeq`.
 * Within one batch the first message to name a (device, seq) is its owner; a later identical copy is a
 * duplicate of it, a later different one a conflict.
 */
import type { IncomingReading, IngestItem, ReadingOutcome } from './ingest-item.js';
import { sqlDateTime } from '../db/sql-time.js';

/**
 * A row as the bulk INSERT sends it: [device_id, seq, sensor, value, measured_at, batch_id]. seq and the
 * value travel as decimal text (the value its shortest round-trip form), so every row has the same binary
 * types (see insertRows in readings-writer.ts).
 */
export type ReadingRow = [string, string, string, string, string, number];

export interface Owner {
  deviceId: string;
  reading: IncomingReading;
  /** Index of the item and reading that own this key. */
  item: number;
  index: number;
}

/** A row already in `readings` (what the conflict check reads back). */
export interface StoredRow {
  deviceId: string;
  seq: number;
  sensor: string;
  value: number;
  measuredMs: number;
}

export interface ReadingPlan {
  owners: Owner[];
  /** For every item and reading: the owner index, and whether it is a different reading than the owner. */
  refs: { owner: number; differs: boolean }[][];
}

/** A reading's identity as one string (for maps on the slow path: replays and seq conflicts). */
export const readingKey = (deviceId: string, seq: number | string): string => `${deviceId}\u0000${seq}`;

export function sameReading(a: IncomingReading, b: IncomingReading): boolean {
  if (a.measuredMs !== b.measuredMs) return false;
  const ka = Object.keys(a.values);
  if (ka.length !== Object.keys(b.values).length) return false;
  return ka.every((s) => a.values[s] === b.values[s]);
}

/** Owners in arrival order, and for every reading which owner it belongs to. */
export function planReadings(items: IngestItem[]): ReadingPlan {
  const owners: Owner[] = [];
  // device → seq → owner index (no key string per reading).
  const byDevice = new Map<string, Map<number, number>>();
  const refs = items.map((item, i) => {
    const seen = byDevice.get(item.deviceId) ?? new Map<number, number>();
    byDevice.set(item.deviceId, seen);
    return item.readings.map((reading, j) => {
      const existing = seen.get(reading.seq);
      if (existing !== undefined) {
        return { owner: existing, differs: !sameReading(owners[existing]!.reading, reading) };
      }
      seen.set(reading.seq, owners.length);
      owners.push({ deviceId: item.deviceId, reading, item: i, index: j });
      return { owner: owners.length - 1, differs: false };
    });
  });
  return { owners, refs };
}

const byDeviceAndSeq = (a: Owner, b: Owner): number =>
  a.deviceId !== b.deviceId ? (a.deviceId < b.deviceId ? -1 : 1) : a.reading.seq - b.reading.seq;

/** Sorts a handful of strings in place without the allocations of Array#sort. */
function sortFew(names: string[]): void {
  for (let i = 1; i < names.length; i++) {
    const name = names[i]!;
    let j = i - 1;
    for (; j >= 0 && names[j]! > name; j--) names[j + 1] = names[j]!;
    names[j + 1] = name;
  }
}

/**
 * Rows of some owners (values and derived values), in (device, seq, sensor) order. Per row only the row
 * itself is allocated: this runs for every reading of every batch.
 */
export function rowsOf(
  owners: readonly Owner[],
  batchId: number,
  only?: (owner: Owner, sensor: string) => boolean,
): ReadingRow[] {
  // Every replica inserts in the same order, so concurrent batches lock shared keys in the same order.
  // Sorting the owners (not the rows) keeps it cheap: a reading's sensors are few.
  const sorted = [...owners].sort(byDeviceAndSeq);
  const rows: ReadingRow[] = [];
  const sensors: string[] = [];
  for (const o of sorted) {
    const { values, derived } = o.reading;
    sensors.length = 0;
    for (const sensor in values) sensors.push(sensor);
    // A derived value never has a sent value's name (derivedOf in message-intake.ts).
    for (const sensor in derived) sensors.push(sensor);
    sortFew(sensors);
    let at: string | undefined;
    let seq: string | undefined;
    for (const sensor of sensors) {
      if (only && !only(o, sensor)) continue;
      at ??= sqlDateTime(o.reading.measuredMs);
      seq ??= String(o.reading.seq);
      const value = Object.hasOwn(values, sensor) ? values[sensor] : derived[sensor];
      rows.push([o.deviceId, seq, sensor, String(value), at, batchId]);
    }
  }
  return rows;
}

export interface Classification {
  /** Per owner. */
  outcomes: ReadingOutcome[];
  /** Rows to insert: all rows of new readings, and derived rows a replayed reading does not have yet. */
  insert: (owner: Owner, sensor: string) => boolean;
}

/**
 * Compares owners with the rows stored under their keys. A stored reading is the same one when every row
 * has the owner's measured_at and every value the device sent is stored with the same value.
 */
export function classify(owners: readonly Owner[], stored: readonly StoredRow[]): Classification {
  const byKey = new Map<string, StoredRow[]>();
  for (const row of stored) {
    const k = readingKey(row.deviceId, row.seq);
    const list = byKey.get(k);
    if (list) list.push(row);
    else byKey.set(k, [row]);
  }
  const missing = new Map<Owner, Set<string>>();
  const outcomes = owners.map((o): ReadingOutcome => {
    const rows = byKey.get(readingKey(o.deviceId, o.reading.seq));
    if (!rows) return 'stored';
    const storedValues = new Map(rows.map((r) => [r.sensor, r.value]));
    const same =
      rows.every((r) => r.measuredMs === o.reading.measuredMs) &&
      Object.entries(o.reading.values).every(([s, v]) => storedValues.get(s) === v);
    if (!same) return 'conflict';
    const absent = Object.keys(o.reading.derived).filter((s) => !storedValues.has(s));
    if (absent.length) missing.set(o, new Set(absent));
    return 'duplicate';
  });
  const outcomeOf = new Map(owners.map((o, i) => [o, outcomes[i]]));
  return {
    outcomes,
    insert: (o, sensor) => outcomeOf.get(o) === 'stored' || (missing.get(o)?.has(sensor) ?? false),
  };
}

/** The outcome of every reading of every item, from the owners' outcomes. */
export function resolveOutcomes(
  plan: ReadingPlan,
  ownerOutcomes: readonly ReadingOutcome[],
): ReadingOutcome[][] {
  return plan.refs.map((refs, i) =>
    refs.map(({ owner, differs }, j) => {
      const o = ownerOutcomes[owner] ?? 'stored';
      const own = plan.owners[owner]!;
      if (own.item === i && own.index === j) return o;
      if (differs) return 'conflict';
      return o === 'stored' ? 'duplicate' : o;
    }),
  );
}

/**
 * Seq ranges per device covering the given owners, for `ingest_batches`. Ranges may cover seqs of other
 * batches: the rollup job only folds rows carrying this batch's id. Gaps up to `maxGap` are bridged
 * (004's synthetic seqs are milliseconds, one second apart or so).
 */
export function seqRanges(owners: readonly Owner[], maxGap = 1000): [string, number, number][] {
  const byDevice = new Map<string, number[]>();
  for (const o of owners) {
    const list = byDevice.get(o.deviceId);
    if (list) list.push(o.reading.seq);
    else byDevice.set(o.deviceId, [o.reading.seq]);
  }
  const ranges: [string, number, number][] = [];
  for (const deviceId of [...byDevice.keys()].sort()) {
    const seqs = byDevice.get(deviceId)!.sort((a, b) => a - b);
    let from = seqs[0]!;
    let to = from;
    for (const s of seqs.slice(1)) {
      if (s - to > maxGap) {
        ranges.push([deviceId, from, to]);
        from = s;
      }
      to = s;
    }
    ranges.push([deviceId, from, to]);
  }
  return ranges;
}
