/**
 * What the receiver deletes, run by one replica at a time (SingleRunnerJob, GET_LOCK) every
 * MAINTENANCE_INTERVAL: message_log rotation by age and by size, and old ingest counters. Deletes go in
 * chunks of the primary key (short transactions, no long locks on a table the ingest is writing to).
 *
 * Size is an estimate, deliberately cheap: ids are consecutive, so MAX(id) − MIN(id) + 1 bounds the row
 * count from above (ids lost to rolled-back transactions only make it delete a little early), times the
 * average size of the newest 1000 rows (payload + detail + ROW_OVERHEAD_BYTES for the other columns and
 * the (device_id, received_at) index). No COUNT(*) or SUM over the whole table.
 */
import type { PoolConnection } from 'mariadb';
import { sqlDateTime } from '../db/sql-time.js';

export const ROW_OVERHEAD_BYTES = 160;
const CHUNK = 5000;

export interface RotationResult {
  deletedByAge: number;
  deletedBySize: number;
  estimatedBytes: number;
}

export async function rotateMessageLog(
  conn: PoolConnection,
  opts: { maxAgeMs: number; maxBytes: number; now: number },
): Promise<RotationResult> {
  const result: RotationResult = { deletedByAge: 0, deletedBySize: 0, estimatedBytes: 0 };
  // By age: rows are (nearly) in id order of arrival, so walk from the oldest id, a chunk at a time.
  const cutoff = sqlDateTime(opts.now - opts.maxAgeMs);
  for (;;) {
    const [first] = (await conn.query(
      'SELECT id, received_at < ? AS old FROM message_log ORDER BY id LIMIT 1',
      [cutoff],
    )) as { id: number; old: number }[];
    if (!first || Number(first.old) !== 1) break;
    const [bound] = (await conn.query(
      'SELECT id FROM message_log WHERE id >= ? ORDER BY id LIMIT 1 OFFSET ?',
      [first.id, CHUNK],
    )) as { id: number }[];
    const res = (await conn.query('DELETE FROM message_log WHERE id >= ? AND id < ? AND received_at < ?', [
      first.id,
      bound ? bound.id : Number.MAX_SAFE_INTEGER,
      cutoff,
    ])) as { affectedRows: number };
    result.deletedByAge += Number(res.affectedRows);
    if (Number(res.affectedRows) === 0) break;
  }
  // By size.
  const [range] = (await conn.query('SELECT MIN(id) AS lo, MAX(id) AS hi FROM message_log')) as {
    lo: number | null;
    hi: number | null;
  }[];
  if (range?.lo == null || range.hi == null) return result;
  const [avg] = (await conn.query(
    'SELECT AVG(LENGTH(payload) + COALESCE(LENGTH(detail), 0)) AS b FROM' +
      ' (SELECT payload, detail FROM message_log ORDER BY id DESC LIMIT 1000) newest',
  )) as { b: number | null }[];
  const rowBytes = Number(avg?.b ?? 0) + ROW_OVERHEAD_BYTES;
  const lo = Number(range.lo);
  const hi = Number(range.hi);
  result.estimatedBytes = (hi - lo + 1) * rowBytes;
  const keepRows = Math.floor(opts.maxBytes / rowBytes);
  const firstKept = hi - keepRows + 1;
  for (let from = lo; from < firstKept; from += CHUNK) {
    const res = (await conn.query('DELETE FROM message_log WHERE id >= ? AND id < ?', [
      from,
      Math.min(from + CHUNK, firstKept),
    ])) as { affectedRows: number };
    result.deletedBySize += Number(res.affectedRows);
  }
  if (result.deletedBySize) result.estimatedBytes = Math.max(0, hi - Math.max(lo, firstKept) + 1) * rowBytes;
  return result;
}

/** Deletes ingest counters and rejection counts older than `maxAgeMs`; rows deleted. */
export async function pruneIngestCounters(
  conn: PoolConnection,
  opts: { maxAgeMs: number; now: number },
): Promise<number> {
  const cutoff = sqlDateTime(opts.now - opts.maxAgeMs);
  let deleted = 0;
  for (const table of ['ingest_counters', 'ingest_rejections']) {
    for (;;) {
      const res = (await conn.query(`DELETE FROM ${table} WHERE minute < ? ORDER BY minute LIMIT ${CHUNK}`, [
        cutoff,
      ])) as { affectedRows: number };
      deleted += Number(res.affectedRows);
      if (Number(res.affectedRows) < CHUNK) break;
    }
  }
  return deleted;
}
