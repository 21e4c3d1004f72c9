/**
 * Ingest statistics for the web admin (sources 001 and 004), from the receiver's per-minute, per-device
 * counters. The receiver updates them in the same transaction as the rows they count, so the figures are
 * exact across replicas and restarts; they are kept for INGEST_STATS_MAX_AGE (receiver env).
 */
import type { IngestStats, IngestTotals, RejectionCount } from '@sensorfleet/shared/schemas/stats';

/** Anything with the connector's `query` (a Pool, PoolConnection or Connection). */
export interface Queryable {
  query(sql: string, values?: unknown): Promise<unknown>;
}

export interface IngestStatsOptions {
  /** Minutes back from now, the current (partial) minute included. Default 60. */
  windowMinutes?: number;
  /** Busiest devices listed at most. Default 100. */
  deviceLimit?: number;
  now?: number;
}

const SUMS =
  'COALESCE(SUM(messages), 0) AS messages, COALESCE(SUM(readings), 0) AS readings,' +
  ' COALESCE(SUM(stored_readings), 0) AS storedReadings, COALESCE(SUM(duplicate_readings), 0) AS duplicateReadings,' +
  ' COALESCE(SUM(rejected_readings), 0) AS rejectedReadings, COALESCE(SUM(rejected_messages), 0) AS rejectedMessages,' +
  ' COALESCE(SUM(stored_rows), 0) AS storedRows';

type Sums = Record<keyof IngestTotals, unknown>;

const totalsOf = (r: Sums | undefined): IngestTotals => ({
  messages: Number(r?.messages ?? 0),
  readings: Number(r?.readings ?? 0),
  storedReadings: Number(r?.storedReadings ?? 0),
  duplicateReadings: Number(r?.duplicateReadings ?? 0),
  rejectedReadings: Number(r?.rejectedReadings ?? 0),
  rejectedMessages: Number(r?.rejectedMessages ?? 0),
  storedRows: Number(r?.storedRows ?? 0),
});

const sqlMinute = (ms: number): string =>
  new Date(ms - (ms % 60_000)).toISOString().slice(0, 19).replace('T', ' ');
const iso = (sql: string | Date): string =>
  sql instanceof Date ? sql.toISOString() : `${sql.replace(' ', 'T').slice(0, 19)}.000Z`;
const perMinute = (n: number, minutes: number): number => Math.round((n / minutes) * 100) / 100;

/** Totals, rejections by reason and per-device rates over the last `windowMinutes`. */
export async function queryIngestStats(db: Queryable, opts: IngestStatsOptions = {}): Promise<IngestStats> {
  const windowMinutes = Math.max(1, Math.floor(opts.windowMinutes ?? 60));
  const now = opts.now ?? Date.now();
  const from = sqlMinute(now - (windowMinutes - 1) * 60_000);
  const [totals, rejections, devices] = (await Promise.all([
    db.query(`SELECT ${SUMS} FROM ingest_counters WHERE minute >= ?`, [from]),
    db.query(
      'SELECT scope, reason, SUM(n) AS count FROM ingest_rejections WHERE minute >= ?' +
        ' GROUP BY scope, reason ORDER BY count DESC, scope, reason',
      [from],
    ),
    db.query(
      `SELECT device_id AS deviceId, ${SUMS}, MAX(minute) AS lastMinute FROM ingest_counters WHERE minute >= ?` +
        ' GROUP BY device_id ORDER BY storedReadings DESC, messages DESC, device_id LIMIT ?',
      [from, Math.max(0, Math.floor(opts.deviceLimit ?? 100))],
    ),
  ])) as [
    Sums[],
    { scope: RejectionCount['scope']; reason: string; count: unknown }[],
    (Sums & { deviceId: string; lastMinute: Date | string })[],
  ];
  return {
    from: iso(from),
    to: new Date(now).toISOString(),
    windowMinutes,
    totals: totalsOf(totals[0]),
    rejectedByReason: rejections.map((r) => ({ scope: r.scope, reason: r.reason, count: Number(r.count) })),
    devices: devices.map((d) => {
      const t = totalsOf(d);
      return {
        deviceId: d.deviceId,
        ...t,
        messagesPerMinute: perMinute(t.messages, windowMinutes),
        storedReadingsPerMinute: perMinute(t.storedReadings, windowMinutes),
        lastMinute: iso(d.lastMinute),
      };
    }),
  };
}
