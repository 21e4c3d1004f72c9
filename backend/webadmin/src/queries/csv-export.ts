import type { Queryable } from '@sensorfleet/mariadb';

/**
 * One CSV cell. Numbers are written plainly (a negative number is a number, not a formula). Text that a
 * spreadsheet would run as a formula (starting with = + - @, or tab / CR that some strip first) gets a
 * leading `'` (OWASP "CSV injection"); text with a comma, quote or line break is quoted (RFC 4180).
 */
export function csvCell(v: string | number | null | undefined): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : '';
  let s = v;
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  if (/[",\r\n]/.test(s)) s = `"${s.replace(/"/g, '""')}"`;
  return s;
}

export const csvLine = (cells: (string | number | null | undefined)[]): string =>
  `${cells.map(csvCell).join(',')}\r\n`;

export interface CsvRequest {
  deviceId: string;
  from: Date;
  to: Date;
  /** Columns after seq and measured_at; default every sensor the device ever sent, in name order. */
  sensors?: string[] | undefined;
  /** readings rows per query (a reading is one row per sensor). */
  pageRows?: number;
}

export async function csvSensors(db: Queryable, deviceId: string): Promise<string[]> {
  // Loose index scan on readings_by_time (device_id, sensor, …): one probe per sensor, not per row.
  const rows = (await db.query('SELECT DISTINCT sensor FROM readings WHERE device_id = ? ORDER BY sensor', [
    deviceId,
  ])) as { sensor: string }[];
  return rows.map((r) => r.sensor);
}

/**
 * `seq,measured_at,<sensor>,…` one line per reading, in seq order, as chunks of text. Keyset pagination on
 * the primary key (device_id, seq, sensor): each page is a short query on a pooled connection that is
 * released before the chunk is handed on, so a slow download holds no connection, and memory stays one
 * page whatever the size. The seq range is found first from the time index so a short range late in a
 * long history does not scan the seqs before it.
 */
export async function* csvChunks(db: Queryable, q: CsvRequest): AsyncGenerator<string> {
  const sensors = [...(q.sensors ?? (await csvSensors(db, q.deviceId)))].sort();
  yield csvLine(['seq', 'measured_at', ...sensors]);
  if (!sensors.length) return;
  const column = new Map(sensors.map((s, i) => [s, i]));
  const inList = sensors.map(() => '?').join(',');
  const [bounds] = (await db.query(
    `SELECT MIN(seq) AS lo, MAX(seq) AS hi FROM readings WHERE device_id = ? AND sensor IN (${inList})` +
      ' AND measured_at >= ? AND measured_at < ?',
    [q.deviceId, ...sensors, q.from, q.to],
  )) as { lo: number | null; hi: number | null }[];
  if (bounds?.lo == null || bounds.hi == null) return;
  // A page must hold at least one whole reading (a row per sensor) so that trimming its last seq below
  // still moves forward.
  const pageRows = Math.max(q.pageRows ?? 10_000, sensors.length + 1);
  let afterSeq = Number(bounds.lo) - 1;
  for (;;) {
    // One range on (device_id, seq): the primary key's order, no sort, and the scan stops after one page.
    // (A row-wise `(seq, sensor) > (?, ?)` cursor made MariaDB read and sort the whole rest per page.)
    const rows = (await db.query(
      'SELECT seq, sensor, value, measured_at FROM readings FORCE INDEX (PRIMARY)' +
        ` WHERE device_id = ? AND seq > ? AND seq <= ? AND sensor IN (${inList})` +
        ' AND measured_at >= ? AND measured_at < ? ORDER BY seq LIMIT ?',
      [q.deviceId, afterSeq, bounds.hi, ...sensors, q.from, q.to, pageRows],
    )) as { seq: number; sensor: string; value: number; measured_at: Date }[];
    const full = rows.length === pageRows;
    // A full page may end inside a reading: its last seq is read again, whole, by the next page.
    const lastSeq = full ? Number(rows[rows.length - 1]!.seq) : Infinity;
    let chunk = '';
    let current: { seq: number; at: string; cells: (number | null)[] } | undefined;
    for (const r of rows) {
      const seq = Number(r.seq);
      if (seq === lastSeq) break;
      if (!current || current.seq !== seq) {
        if (current) chunk += csvLine([current.seq, current.at, ...current.cells]);
        current = { seq, at: r.measured_at.toISOString(), cells: sensors.map(() => null) };
      }
      current.cells[column.get(r.sensor)!] = r.value;
    }
    if (current) chunk += csvLine([current.seq, current.at, ...current.cells]);
    if (chunk) yield chunk;
    if (!full) return;
    afterSeq = current ? current.seq : afterSeq;
    if (!current) throw new Error('CSV page held less than one reading'); // pageRows ≥ sensors + 1 prevents it
  }
}
