/**
 * History from the receiver's rollups (readings_1m / readings_1h: count, sum, min, max per device, sensor
 * and UTC minute or hour), for charts over long ranges without scanning raw readings. Rollups lag the raw
 * rows by up to the receiver's FOLD_INTERVAL.
 */
import type { RollupPoint } from '@sensorfleet/shared/schemas/stats';
import type { Queryable } from './ingest-stats-query.js';

export interface RollupQuery {
  deviceId: string;
  resolution: 'minute' | 'hour';
  /** ISO-8601 or epoch ms; inclusive. */
  from: string | number;
  /** ISO-8601 or epoch ms; exclusive. */
  to: string | number;
  /** Default: all sensors of the device. */
  sensors?: string[];
  /** Default 10 000. */
  limit?: number;
}

const sqlTime = (t: string | number): string => new Date(t).toISOString().slice(0, 19).replace('T', ' ');

export async function queryRollups(db: Queryable, q: RollupQuery): Promise<RollupPoint[]> {
  const table = q.resolution === 'hour' ? 'readings_1h' : 'readings_1m';
  const params: unknown[] = [q.deviceId, sqlTime(q.from), sqlTime(q.to)];
  let sensors = '';
  if (q.sensors?.length) {
    sensors = ` AND sensor IN (${q.sensors.map(() => '?').join(',')})`;
    params.push(...q.sensors);
  }
  params.push(Math.max(1, Math.floor(q.limit ?? 10_000)));
  const rows = (await db.query(
    `SELECT sensor, bucket, n, sum_value, min_value, max_value FROM ${table}` +
      ` WHERE device_id = ? AND bucket >= ? AND bucket < ?${sensors} ORDER BY sensor, bucket LIMIT ?`,
    params,
  )) as {
    sensor: string;
    bucket: Date;
    n: number;
    sum_value: number;
    min_value: number;
    max_value: number;
  }[];
  return rows.map((r) => ({
    sensor: r.sensor,
    bucket: r.bucket.toISOString(),
    count: Number(r.n),
    min: r.min_value,
    max: r.max_value,
    avg: r.sum_value / Number(r.n),
  }));
}
