/**
 * The `ingest_batches` row: what one ingest transaction hands to the fold job (fold/) — the seq ranges it
 * stored rows in, its counters and its devices' last-seen figures. Written in the ingest transaction,
 * read and deleted by the fold in its own, so each batch is folded exactly once.
 */
import type { PoolConnection } from 'mariadb';
import type { CounterRow, RejectionCount } from './ingest-counters.js';
import type { TouchRow } from './registry-updates.js';

/** One minute rollup bucket of the rows a batch stored: [device_id, sensor, minute, n, sum, min, max]. */
export type MinuteTuple = [string, string, string, number, number, number, number];

export interface BatchRecord {
  ranges: [string, number, number][];
  counters: CounterRow[];
  rejections: RejectionCount[];
  touch: TouchRow[];
  /**
   * Minute rollups of exactly the rows the batch stored (fold-plan.ts minutesOfRows). Absent in the rows of
   * receivers before schema version 6: the fold then aggregates the batch's rows from `readings`.
   */
  minutes?: MinuteTuple[];
}

/** A batch row as the fold SELECTs it: the record's parts are JSON columns. */
export interface BatchRecordRow {
  id: number;
  ranges: string;
  counters: string;
  rejections: string;
  touch: string;
  minutes: string | null;
}

/**
 * Writes the batch's record inside the ingest transaction. Binary protocol (execute): with a thousand
 * devices per batch its JSON is hundreds of kB, which the text protocol escapes byte by byte (measured:
 * ~3 % of the receiver's CPU with 1000 devices sending 1-reading messages).
 */
export function insertBatchRecord(
  conn: PoolConnection,
  batchId: number,
  createdAt: string,
  record: BatchRecord,
): Promise<unknown> {
  return conn.execute(
    'INSERT INTO ingest_batches (id, created_at, ranges, counters, rejections, touch, minutes) VALUES (?,?,?,?,?,?,?)',
    [
      batchId,
      createdAt,
      JSON.stringify(record.ranges),
      JSON.stringify(record.counters),
      JSON.stringify(record.rejections),
      JSON.stringify(record.touch),
      record.minutes ? JSON.stringify(record.minutes) : null,
    ],
  );
}

export function readBatchRecord(row: BatchRecordRow): BatchRecord {
  return {
    ranges: JSON.parse(row.ranges) as [string, number, number][],
    counters: JSON.parse(row.counters) as CounterRow[],
    rejections: JSON.parse(row.rejections) as RejectionCount[],
    touch: JSON.parse(row.touch) as TouchRow[],
    ...(row.minutes === null ? {} : { minutes: JSON.parse(row.minutes) as MinuteTuple[] }),
  };
}
