import type { Queryable } from '@sensorfleet/mariadb';
import type { HistoryPoint, ReadingsHistory, Resolution } from '@sensorfleet/shared/schemas/webadmin-api';

export interface HistoryRequest {
  deviceId: string;
  sensor: string;
  from: Date;
  to: Date;
  maxPoints: number;
}

/** The request asks for more detail than even daily points give within maxPoints. */
export class TooManyPoints extends Error {}

const floorTo = (d: Date, ms: number) => new Date(Math.floor(d.getTime() / ms) * ms);

interface BucketRow {
  bucket: Date | string;
  n: number;
  sum_value: number;
  min_value: number;
  max_value: number;
}

const toPoint = (r: BucketRow): HistoryPoint => {
  const n = Number(r.n);
  const t = r.bucket instanceof Date ? r.bucket : new Date(`${r.bucket}T00:00:00.000Z`);
  return { t: t.toISOString(), avg: r.sum_value / n, min: r.min_value, max: r.max_value, count: n };
};

/**
 * A chart's data: the finest resolution whose point count fits in `maxPoints`. Each step reads at most
 * maxPoints + 1 rows through an index (raw: `readings_by_time`; 1m/1h: the rollups' primary key), so
 * deciding costs little more than answering, and the answer never has more points than asked. Rollup
 * buckets are those that start in [from rounded down to the bucket, to); they lag the raw rows by the
 * receiver's fold interval. Beyond hourly, hours are summed into UTC days (`1d`).
 */
export async function readingsHistory(db: Queryable, q: HistoryRequest): Promise<ReadingsHistory> {
  const limit = q.maxPoints + 1;
  const raw = (await db.query(
    'SELECT measured_at, value FROM readings WHERE device_id = ? AND sensor = ? AND measured_at >= ?' +
      ' AND measured_at < ? ORDER BY measured_at LIMIT ?',
    [q.deviceId, q.sensor, q.from, q.to, limit],
  )) as { measured_at: Date; value: number }[];
  if (raw.length <= q.maxPoints) {
    return {
      resolution: 'raw',
      points: raw.map((r) => ({
        t: r.measured_at.toISOString(),
        avg: r.value,
        min: r.value,
        max: r.value,
        count: 1,
      })),
    };
  }
  for (const [resolution, table, ms] of [
    ['1m', 'readings_1m', 60_000],
    ['1h', 'readings_1h', 3_600_000],
  ] as const) {
    const rows = (await db.query(
      `SELECT bucket, n, sum_value, min_value, max_value FROM ${table}` +
        ' WHERE device_id = ? AND sensor = ? AND bucket >= ? AND bucket < ? ORDER BY bucket LIMIT ?',
      [q.deviceId, q.sensor, floorTo(q.from, ms), q.to, limit],
    )) as BucketRow[];
    if (rows.length <= q.maxPoints)
      return { resolution: resolution as Resolution, points: rows.map(toPoint) };
  }
  const days = (await db.query(
    'SELECT DATE_FORMAT(bucket, "%Y-%m-%d") AS bucket, SUM(n) AS n, SUM(sum_value) AS sum_value,' +
      ' MIN(min_value) AS min_value, MAX(max_value) AS max_value FROM readings_1h' +
      ' WHERE device_id = ? AND sensor = ? AND bucket >= ? AND bucket < ?' +
      ' GROUP BY DATE_FORMAT(bucket, "%Y-%m-%d") ORDER BY bucket LIMIT ?',
    [q.deviceId, q.sensor, floorTo(q.from, 86_400_000), q.to, limit],
  )) as BucketRow[];
  if (days.length <= q.maxPoints) return { resolution: '1d', points: days.map(toPoint) };
  throw new TooManyPoints(`${days.length}+ daily points in this range`);
}
