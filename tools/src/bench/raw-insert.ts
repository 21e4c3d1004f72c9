import { createPool, migrate } from '@sensorfleet/mariadb';
import type { ReadingRow } from './telemetry.js';

/**
 * Rows per multi-row INSERT of baseline (a). The receiver itself inserts through the connector's bulk
 * protocol (baseline (b)'s method), so (a) is a second, independent estimate of what MariaDB can take.
 */
export const RAW_ROWS_PER_STATEMENT = 1000;

const COLUMNS = 'INSERT IGNORE INTO readings (device_id, seq, sensor, value, measured_at) VALUES ';

export interface RawResult {
  rows: number;
  seconds: number;
  rowsPerS: number;
}

/**
 * Baseline (a): multi-row `INSERT IGNORE … VALUES (…),(…)…` of RAW_ROWS_PER_STATEMENT rows per statement,
 * one statement per transaction (BEGIN, INSERT, COMMIT), into the migrated, empty `readings` of `url`.
 */
export async function rawMultiRowInsert(url: string, rows: readonly ReadingRow[]): Promise<RawResult> {
  return timed(url, rows, async (conn) => {
    const fullSql = COLUMNS + Array(RAW_ROWS_PER_STATEMENT).fill('(?,?,?,?,?)').join(',');
    for (let i = 0; i < rows.length; i += RAW_ROWS_PER_STATEMENT) {
      const chunk = rows.slice(i, i + RAW_ROWS_PER_STATEMENT);
      const sql =
        chunk.length === RAW_ROWS_PER_STATEMENT
          ? fullSql
          : COLUMNS + chunk.map(() => '(?,?,?,?,?)').join(',');
      await conn.beginTransaction();
      await conn.query(sql, chunk.flat());
      await conn.commit();
    }
  });
}

/** Baseline (b): the connector's `conn.batch()` (bulk protocol) with all rows in one transaction. */
export async function rawBatchInsert(url: string, rows: readonly ReadingRow[]): Promise<RawResult> {
  return timed(url, rows, async (conn) => {
    await conn.beginTransaction();
    await conn.batch(COLUMNS + '(?,?,?,?,?)', rows as ReadingRow[]);
    await conn.commit();
  });
}

type Conn = Awaited<ReturnType<ReturnType<typeof createPool>['getConnection']>>;

async function timed(
  url: string,
  rows: readonly ReadingRow[],
  insert: (conn: Conn) => Promise<void>,
): Promise<RawResult> {
  const pool = createPool(url, { connectionLimit: 1 });
  try {
    await migrate(pool);
    const conn = await pool.getConnection();
    try {
      const started = performance.now();
      await insert(conn);
      const seconds = (performance.now() - started) / 1000;
      const counted = (await conn.query('SELECT COUNT(*) AS n FROM readings')) as { n: number }[];
      const stored = Number(counted[0]?.n ?? 0);
      if (stored !== rows.length) throw new Error(`raw insert stored ${stored} of ${rows.length} rows`);
      return { rows: stored, seconds, rowsPerS: stored / seconds };
    } finally {
      await conn.release();
    }
  } finally {
    await pool.end();
  }
}
