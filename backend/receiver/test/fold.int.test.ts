import { createPool, migrate } from '@sensorfleet/mariadb';
import type { Pool, PoolConnection } from 'mariadb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MariaDbServer } from '@sensorfleet/tools/harness';
import { BatchWriter } from '../src/ingest/batch-writer.js';
import type { IngestItem } from '../src/ingest/ingest-item.js';
import { foldOnce } from '../src/fold/fold-writer.js';
import { ROLLUP_CHECK_SQL } from './support/receiver-rig.js';
import { telemetryRange } from './support/items.js';

/**
 * The fold against a real MariaDB: a batch's record carries the minute rollups of the rows it stored, so the
 * fold adds them without reading the raw rows back; batches written by older receivers (no rollups in the
 * record) are still aggregated from `readings`. Either way the rollups equal a GROUP BY over the raw rows.
 */
const silent = { debug() {}, info() {}, warn() {}, error() {} } as never;
const base = Date.UTC(2026, 10, 23, 9, 55, 30);

const telemetry = (deviceId: string, from: number, to: number): IngestItem =>
  telemetryRange(deviceId, from, to, {
    baseMs: base,
    values: (seq) => ({
      temperature: 15 + (seq % 70) / 7,
      humidity: 30 + (seq % 60),
      pressure: 1000.25 + seq,
    }),
  });

let db: MariaDbServer;
let pool: Pool;
beforeAll(async () => {
  db = await MariaDbServer.start();
  pool = createPool(await db.createDatabase(), {
    connectionLimit: 3,
    initSql: 'SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED',
  });
  await migrate(pool);
});
afterAll(async () => {
  await pool?.end().catch(() => undefined);
  await db?.stop();
});
beforeEach(async () => {
  for (const t of ['readings', 'readings_1m', 'readings_1h', 'ingest_batches', 'ingest_counters', 'devices'])
    await pool.query(`DELETE FROM ${t}`);
});

const query = async <T>(sql: string, params: unknown[] = []) => (await pool.query(sql, params)) as T[];

/** Rows the fold's connection read by walking an index (a range scan of `readings` is one per row). */
async function indexRowsRead(conn: PoolConnection): Promise<number> {
  const rows = (await conn.query("SHOW SESSION STATUS LIKE 'Handler_read_next'")) as { Value: string }[];
  return Number(rows[0]?.Value ?? 0);
}

async function foldAllCounting(): Promise<{ batches: number; rows: number; indexRowsRead: number }> {
  const conn = await pool.getConnection();
  try {
    const before = await indexRowsRead(conn);
    let batches = 0;
    let rows = 0;
    for (;;) {
      const r = await foldOnce(conn, 100);
      batches += r.batches;
      rows += r.rows;
      if (!r.batches) break;
    }
    return { batches, rows, indexRowsRead: (await indexRowsRead(conn)) - before };
  } finally {
    await conn.release();
  }
}

async function expectRollupsEqualRawRows(total: number): Promise<void> {
  for (const table of ['readings_1m', 'readings_1h'] as const) {
    expect(await query(ROLLUP_CHECK_SQL(table))).toEqual([]);
    const [sum] = await query<{ n: number }>(`SELECT SUM(n) AS n FROM ${table}`);
    expect(Number(sum?.n)).toBe(total);
  }
}

describe('the fold and the minute rollups a batch carries', () => {
  it('a batch records the minute rollups of exactly the rows it stored', async () => {
    const writer = new BatchWriter(pool, { messageLog: 'off', log: silent });
    const first = await writer.write([telemetry('m-1', 1, 300), telemetry('m-2', 1, 100)]);
    // A replay overlapping the first batch: only its new readings' rows are its own.
    const replay = await writer.write([telemetry('m-1', 201, 400)]);
    expect(replay.checked).toBe(true);
    for (const batchId of [first.batchId, replay.batchId]) {
      const [record] = await query<{ minutes: string }>('SELECT minutes FROM ingest_batches WHERE id = ?', [
        batchId,
      ]);
      const carried = (
        JSON.parse(record!.minutes) as [string, string, string, number, number, number, number][]
      )
        .map(([d, s, b, n, sum, min, max]) => [d, s, b, n, sum, min, max])
        .sort();
      const grouped = (
        await query<Record<string, unknown>>(
          "SELECT device_id, sensor, DATE_FORMAT(measured_at, '%Y-%m-%d %H:%i:00') AS bucket, COUNT(*) AS n," +
            ' SUM(value) AS s, MIN(value) AS mn, MAX(value) AS mx FROM readings WHERE batch_id = ?' +
            ' GROUP BY device_id, sensor, bucket',
          [batchId],
        )
      )
        .map((r) => [r.device_id, r.sensor, r.bucket, Number(r.n), Number(r.s), Number(r.mn), Number(r.mx)])
        .sort();
      expect(carried.map((c) => c.slice(0, 4))).toEqual(grouped.map((g) => g.slice(0, 4)));
      carried.forEach((c, i) => {
        expect(c[4]).toBeCloseTo(grouped[i]![4] as number, 6);
        expect(c.slice(5)).toEqual(grouped[i]!.slice(5));
      });
    }
  });

  it('folds carried rollups without reading the raw rows back, equal to a GROUP BY over them', async () => {
    const writer = new BatchWriter(pool, { messageLog: 'off', log: silent });
    await writer.write([telemetry('f-1', 1, 600), telemetry('f-2', 1, 600)]);
    await writer.write([telemetry('f-1', 601, 1200)]);
    const [stored] = await query<{ n: number }>('SELECT COUNT(*) AS n FROM readings');
    const total = Number(stored?.n);
    expect(total).toBe(1800 * 5); // three values and two derived ones per reading
    const folded = await foldAllCounting();
    expect(folded).toMatchObject({ batches: 2, rows: total });
    // Reading the rows back would walk the primary key over every one of them.
    expect(folded.indexRowsRead).toBeLessThan(total / 20);
    await expectRollupsEqualRawRows(total);
  });

  it("aggregates the raw rows of an older receiver's batch (no rollups in its record), also mixed with new ones", async () => {
    const writer = new BatchWriter(pool, { messageLog: 'off', log: silent });
    const old = await writer.write([telemetry('o-1', 1, 500), telemetry('o-2', 1, 50)]);
    await pool.query('UPDATE ingest_batches SET minutes = NULL WHERE id = ?', [old.batchId]);
    await writer.write([telemetry('o-1', 501, 700), telemetry('o-3', 1, 120)]);
    const [stored] = await query<{ n: number }>('SELECT COUNT(*) AS n FROM readings');
    const total = Number(stored?.n);
    const folded = await foldAllCounting();
    expect(folded).toMatchObject({ batches: 2, rows: total });
    expect(folded.indexRowsRead).toBeGreaterThanOrEqual(550 * 5); // the old batch's rows, read back
    await expectRollupsEqualRawRows(total);
  });
});
