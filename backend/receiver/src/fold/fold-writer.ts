/**
 * The fold job: what every ingest batch adds beyond its raw rows — the minute/hour rollups, the per-minute
 * ingest counters, and each device's first/last seen, last data and last seq — applied exactly once, off
 * the ingest path, by one replica at a time (SingleRunnerJob, GET_LOCK) every FOLD_INTERVAL.
 *
 * Rollups: `readings_1m` / `readings_1h` hold count / sum / min / max per device, sensor and UTC minute or
 * hour (avg = sum_value / n), equal to a GROUP BY over the raw rows however often readings are replayed and
 * however many replicas insert at once.
 *
 * Design. Each ingest transaction stamps the rows it inserts with its `batch_id` and, in the same
 * transaction, writes ONE `ingest_batches` row: the (device, seq ranges) it wrote, the minute rollups of
 * exactly the rows it inserted (it knows them: INSERT IGNORE's affected rows prove them all new, or the
 * duplicate check classified them), and the counters and registry figures of its messages. A replayed
 * reading is an INSERT IGNORE no-op, so the raw row keeps the batch that really inserted it and is in no
 * other batch's rollups. The fold takes committed batch rows, adds their rollups (for a batch of an older
 * receiver without them: aggregates the raw rows carrying its batch id in its ranges), counters and
 * registry figures to the rollups, counters and devices, and deletes the batch rows — all in ONE
 * transaction. So:
 *  - every raw row is owned by exactly one batch (primary key), and every batch is folded exactly once (its
 *    effects and the deletion of its row commit together; a second folder finds its DELETE short and rolls
 *    back): replays and concurrent replicas cannot double count;
 *  - uncommitted batches are invisible until they commit, and they commit their rows together with their
 *    batch row: no watermark, no safety margin, nothing missed when a transaction is slow;
 *  - the ingest transaction writes its readings plus one row, whatever the number of devices: no
 *    read-modify-write of hot rollup, counter or device rows there, so replicas never wait for each other,
 *    and many batches are aggregated into one upsert per rollup bucket, counter minute and device here.
 * Rejected alternatives: recomputing touched buckets from a received_at watermark needs an index on
 * received_at and misses transactions that commit later than the margin; in-transaction deltas from
 * "rows that were new" double count when two replicas both see a row as new, and read-modify-write of the
 * same hour row serialises the replicas (measured: per-device upserts in the ingest transaction doubled
 * its time with 1000 devices sending 1-reading messages).
 * The price: rollups, counters and devices.last_seen lag the raw rows by up to FOLD_INTERVAL.
 *
 * This file is the SQL; the merging is pure, in fold-plan.ts. The batch row itself: ingest/batch-record.ts.
 */
import type { PoolConnection } from 'mariadb';
import { tuples, keepLatest } from '../db/upsert-sql.js';
import { readBatchRecord, type BatchRecordRow } from '../ingest/batch-record.js';
import { mergeRanges, mergeRecords, rollupsOf, type Aggregate } from './fold-plan.js';

export interface FoldResult {
  /** Batches folded. */
  batches: number;
  /** Raw rows aggregated into the rollups. */
  rows: number;
}

/** Ranges per aggregate SELECT (an OR of primary-key ranges). */
const RANGES_PER_SELECT = 500;
const ROWS_PER_UPSERT = 1000;

const ROLLUP_UPSERT = (table: string, n: number): string =>
  `INSERT INTO ${table} (device_id, sensor, bucket, n, sum_value, min_value, max_value) VALUES ` +
  tuples(n, '(?,?,?,?,?,?,?)') +
  ' ON DUPLICATE KEY UPDATE n = n + VALUES(n), sum_value = sum_value + VALUES(sum_value),' +
  ' min_value = LEAST(min_value, VALUES(min_value)), max_value = GREATEST(max_value, VALUES(max_value))';

const COUNTER_UPSERT = (n: number): string =>
  'INSERT INTO ingest_counters (minute, device_id, messages, readings, stored_readings, duplicate_readings,' +
  ' rejected_readings, rejected_messages, stored_rows) VALUES ' +
  tuples(n, '(?,?,?,?,?,?,?,?,?)') +
  ' ON DUPLICATE KEY UPDATE messages = messages + VALUES(messages), readings = readings + VALUES(readings),' +
  ' stored_readings = stored_readings + VALUES(stored_readings),' +
  ' duplicate_readings = duplicate_readings + VALUES(duplicate_readings),' +
  ' rejected_readings = rejected_readings + VALUES(rejected_readings),' +
  ' rejected_messages = rejected_messages + VALUES(rejected_messages),' +
  ' stored_rows = stored_rows + VALUES(stored_rows)';

const REJECTION_UPSERT = (n: number): string =>
  'INSERT INTO ingest_rejections (minute, device_id, scope, reason, n) VALUES ' +
  tuples(n, '(?,?,?,?,?)') +
  ' ON DUPLICATE KEY UPDATE n = n + VALUES(n)';

// Times only move forward (GREATEST; first_seen backward with LEAST), so folding order does not matter.
const TOUCH_UPSERT = (n: number): string =>
  'INSERT INTO devices (id, first_seen, last_seen, last_data_at, last_seq, protocol) VALUES ' +
  tuples(n, '(?,?,?,?,?,?)') +
  ' ON DUPLICATE KEY UPDATE' +
  ' first_seen = COALESCE(LEAST(first_seen, VALUES(first_seen)), VALUES(first_seen), first_seen),' +
  ' protocol = IF(VALUES(last_seen) IS NOT NULL AND (last_seen IS NULL OR VALUES(last_seen) >= last_seen),' +
  ' COALESCE(VALUES(protocol), protocol), protocol),' +
  ` ${['last_seen', 'last_data_at', 'last_seq'].map(keepLatest).join(', ')}`;

/** Folds up to `maxBatches` committed batches (oldest first) in one transaction. */
export async function foldOnce(conn: PoolConnection, maxBatches: number): Promise<FoldResult> {
  const batches = (await conn.query(
    'SELECT id, ranges, counters, rejections, touch, minutes FROM ingest_batches ORDER BY id LIMIT ?',
    [maxBatches],
  )) as BatchRecordRow[];
  if (!batches.length) return { batches: 0, rows: 0 };
  const records = batches.map(readBatchRecord);
  const { ranges, minutes: carried, counters, rejections, touch } = mergeRecords(records);

  await conn.beginTransaction();
  try {
    // A batch's record carries the minute rollups of exactly the rows it stored (computed from those rows
    // in its own transaction, committed with them), so they are added as they are: reading the raw rows
    // back and grouping them was ~60 % of MariaDB's statement time with 1,000 live devices.
    const perMinute: Aggregate[] = carried;
    let rows = carried.reduce((n, m) => n + m.n, 0);
    // Batches of older receivers have none: aggregate the raw rows they really stored (their batch_id),
    // minute by minute. Every row a batch stored lies inside that batch's ranges, so "batch_id in these
    // batches, inside the union of their ranges" is exactly their rows: the union is what the primary key
    // is scanned over, merged per device (with many devices sending 1-reading messages, 50 batches named
    // ~40,000 one-seq ranges that merge into one per device; statements with 500 OR-ed ranges each were
    // ~40 % of MariaDB's CPU).
    const merged = mergeRanges(ranges);
    const ids = batches.filter((_, i) => !records[i]!.minutes).map((b) => Number(b.id));
    const inBatches = `batch_id IN (${tuples(ids.length, '?')})`;
    for (let i = 0; i < merged.length; i += RANGES_PER_SELECT) {
      const chunk = merged.slice(i, i + RANGES_PER_SELECT);
      const aggs = (await conn.query(
        "SELECT device_id, sensor, DATE_FORMAT(measured_at, '%Y-%m-%d %H:%i:00') AS bucket, COUNT(*) AS n," +
          ' SUM(value) AS sum_value, MIN(value) AS min_value, MAX(value) AS max_value FROM readings WHERE (' +
          chunk.map(() => '(device_id = ? AND seq BETWEEN ? AND ?)').join(' OR ') +
          `) AND ${inBatches} GROUP BY device_id, sensor, bucket`,
        [...chunk.flat(), ...ids],
      )) as Aggregate[];
      for (const a of aggs) {
        a.n = Number(a.n);
        rows += a.n;
        perMinute.push(a);
      }
    }
    const { minutes, hours } = rollupsOf(perMinute);

    // Every upsert in key order (the same order in every run), issued at once on the connection.
    const statements: Promise<unknown>[] = [];
    const upsert = <T>(list: T[], sql: (n: number) => string, params: (r: T) => unknown[]) => {
      for (let i = 0; i < list.length; i += ROWS_PER_UPSERT) {
        const chunk = list.slice(i, i + ROWS_PER_UPSERT);
        statements.push(conn.query(sql(chunk.length), chunk.flatMap(params)));
      }
    };
    const aggParams = (a: Aggregate) => [
      a.device_id,
      a.sensor,
      a.bucket,
      a.n,
      a.sum_value,
      a.min_value,
      a.max_value,
    ];
    upsert(minutes, (n) => ROLLUP_UPSERT('readings_1m', n), aggParams);
    upsert(hours, (n) => ROLLUP_UPSERT('readings_1h', n), aggParams);
    upsert(counters, COUNTER_UPSERT, (c) => [
      c.minute,
      c.deviceId,
      c.messages,
      c.readings,
      c.storedReadings,
      c.duplicateReadings,
      c.rejectedReadings,
      c.rejectedMessages,
      c.storedRows,
    ]);
    upsert(rejections, REJECTION_UPSERT, (r) => [r.minute, r.deviceId, r.scope, r.reason, r.n]);
    upsert(touch, TOUCH_UPSERT, (t) => [t.id, t.firstSeen, t.lastSeen, t.lastDataAt, t.lastSeq, t.protocol]);
    const deleted = conn.query(
      `DELETE FROM ingest_batches WHERE id IN (${tuples(batches.length, '?')})`,
      batches.map((b) => b.id),
    ) as Promise<{ affectedRows: number }>;
    await Promise.all(statements);
    if (Number((await deleted).affectedRows) !== batches.length) {
      throw new Error('ingest batches were folded by someone else meanwhile');
    }
    await conn.commit();
    return { batches: batches.length, rows };
  } catch (err) {
    await conn.rollback().catch(() => {});
    throw err;
  }
}

/** Folds until nothing is pending (or `maxRounds` transactions ran). */
export async function foldAll(
  conn: PoolConnection,
  maxBatches: number,
  maxRounds = 1000,
): Promise<FoldResult> {
  const total: FoldResult = { batches: 0, rows: 0 };
  for (let i = 0; i < maxRounds; i++) {
    const r = await foldOnce(conn, maxBatches);
    total.batches += r.batches;
    total.rows += r.rows;
    if (r.batches < maxBatches) break;
  }
  return total;
}

/** Committed batches not folded yet (the lag of rollups, counters and last_seen). */
export async function pendingBatches(conn: PoolConnection): Promise<number> {
  const [row] = (await conn.query('SELECT COUNT(*) AS n FROM ingest_batches')) as { n: number }[];
  return Number(row?.n ?? 0);
}
