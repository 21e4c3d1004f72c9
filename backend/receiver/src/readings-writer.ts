import type { Pool, PoolConnection } from 'mariadb';
import type { AcceptedMessage } from './ingest-batcher.js';

/** Rows per INSERT statement: big enough to amortise parsing, small enough for max_allowed_packet. */
export const ROWS_PER_STATEMENT = 1000;

export interface WriteResult {
  rows: number;
  inserted: number;
  duplicates: number;
}

/** `2026-11-23T10:00:00.123Z` → `2026-11-23 10:00:00.123` (DATETIME(3), UTC). */
export function toSqlDateTime(iso: string): string {
  return iso.slice(0, 23).replace('T', ' ').replace('Z', '');
}

/**
 * Writes a coalesced batch in one transaction: readings with multi-row INSERT IGNORE (the primary key
 * (device_id, seq, sensor) turns replays into no-ops), then the per-device bookkeeping. Either all of it
 * commits or none: the caller acks only after this resolves.
 */
export class ReadingsWriter {
  constructor(private readonly pool: Pool) {}

  async write(messages: AcceptedMessage[]): Promise<WriteResult> {
    const rows: (string | number)[][] = [];
    const devices = new Map<string, { lastSeq: number; lastTs: string; receivedAt: number }>();
    for (const m of messages) {
      for (const r of m.readings) {
        const at = toSqlDateTime(r.ts);
        for (const [sensor, value] of Object.entries(r.values))
          rows.push([m.deviceId, r.seq, sensor, value, at]);
        const d = devices.get(m.deviceId);
        if (!d || r.seq > d.lastSeq)
          devices.set(m.deviceId, { lastSeq: r.seq, lastTs: at, receivedAt: m.receivedAt });
      }
    }
    // Same order in every replica: two receivers touching the same keys lock them in the same order.
    rows.sort((a, b) => (a[0]! < b[0]! ? -1 : a[0]! > b[0]! ? 1 : (a[1] as number) - (b[1] as number)));
    const conn = await this.pool.getConnection();
    try {
      await conn.beginTransaction();
      let inserted = 0;
      for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) {
        inserted += await insertReadings(conn, rows.slice(i, i + ROWS_PER_STATEMENT));
      }
      if (devices.size) await touchDevices(conn, devices);
      await conn.commit();
      return { rows: rows.length, inserted, duplicates: rows.length - inserted };
    } catch (err) {
      await conn.rollback().catch(() => {});
      throw err;
    } finally {
      await conn.release();
    }
  }
}

async function insertReadings(conn: PoolConnection, rows: (string | number)[][]): Promise<number> {
  if (!rows.length) return 0;
  const sql =
    'INSERT IGNORE INTO readings (device_id, seq, sensor, value, measured_at) VALUES ' +
    rows.map(() => '(?,?,?,?,?)').join(',');
  const res = (await conn.query(sql, rows.flat())) as { affectedRows: number };
  return Number(res.affectedRows);
}

async function touchDevices(
  conn: PoolConnection,
  devices: Map<string, { lastSeq: number; lastTs: string; receivedAt: number }>,
): Promise<void> {
  const ids = [...devices.keys()].sort();
  const now = toSqlDateTime(new Date().toISOString());
  const params: (string | number)[] = [];
  for (const id of ids) {
    const d = devices.get(id)!;
    params.push(id, now, now, d.lastTs, d.lastSeq);
  }
  await conn.query(
    'INSERT INTO devices (id, first_seen, last_seen, last_data_at, last_seq) VALUES ' +
      ids.map(() => '(?,?,?,?,?)').join(',') +
      ' ON DUPLICATE KEY UPDATE last_seen = VALUES(last_seen),' +
      ' last_data_at = GREATEST(COALESCE(last_data_at, VALUES(last_data_at)), VALUES(last_data_at)),' +
      ' last_seq = GREATEST(COALESCE(last_seq, 0), VALUES(last_seq)),' +
      ' first_seen = COALESCE(first_seen, VALUES(first_seen))',
    params,
  );
}
