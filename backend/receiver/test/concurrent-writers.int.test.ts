import { createPool, migrate } from '@sensorfleet/mariadb';
import type { Pool } from 'mariadb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MariaDbServer } from '@sensorfleet/tools/harness';
import { BatchWriter } from '../src/ingest/batch-writer.js';
import type { IngestItem } from '../src/ingest/ingest-item.js';
import { rotateMessageLog } from '../src/maintenance/retention.js';
import { foldOnce } from '../src/fold/fold-writer.js';
import { ROLLUP_CHECK_SQL } from './support/receiver-rig.js';
import { telemetryRange } from './support/items.js';

/**
 * The database side of the receiver with several writers at once, as N replicas would run it: the
 * BatchWriter and the rollup job against a real MariaDB, without MQTT in between.
 */
const silent = { debug() {}, info() {}, warn() {}, error() {} } as never;
const base = Date.UTC(2026, 10, 23, 9, 58, 0);

const telemetry = (deviceId: string, from: number, to: number, shiftMs = 0): IngestItem =>
  telemetryRange(deviceId, from, to, { baseMs: base, shiftMs });

let db: MariaDbServer;
let pools: Pool[];
beforeAll(async () => {
  db = await MariaDbServer.start();
  const url = await db.createDatabase();
  pools = [0, 1, 2].map(() =>
    createPool(url, {
      connectionLimit: 3,
      initSql: 'SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED',
    }),
  );
  await migrate(pools[0]!);
});
afterAll(async () => {
  await Promise.allSettled((pools ?? []).map((p) => p.end()));
  await db?.stop();
});

const query = async <T>(sql: string, params: unknown[] = []) => (await pools[0]!.query(sql, params)) as T[];

describe('two replicas writing overlapping batches at once', () => {
  it('store every row once, and the rollups still equal a GROUP BY over the raw rows', async () => {
    const [a, b] = [
      new BatchWriter(pools[0]!, { messageLog: 'off', log: silent }),
      new BatchWriter(pools[1]!, { messageLog: 'off', log: silent }),
    ];
    const devices = ['c-1', 'c-2', 'c-3', 'c-4'];
    // Both replicas get the same readings in differently cut batches (resends after an ack timeout land
    // on either replica of a shared subscription), while two folders run the rollup job concurrently.
    let folding = true;
    const folders = [pools[1]!, pools[2]!].map(async (pool) => {
      const conn = await pool.getConnection();
      try {
        while (folding) {
          await foldOnce(conn, 7).catch(() => undefined);
          await new Promise((r) => setTimeout(r, 5));
        }
      } finally {
        await conn.release();
      }
    });
    const results = await Promise.all([
      (async () => {
        const out = [];
        for (let from = 1; from <= 600; from += 40)
          out.push(await a.write(devices.map((d) => telemetry(d, from, from + 39))));
        return out;
      })(),
      (async () => {
        const out = [];
        for (let from = 1; from <= 600; from += 25)
          out.push(await b.write(devices.map((d) => telemetry(d, from, from + 24)).reverse()));
        return out;
      })(),
    ]);
    folding = false;
    await Promise.all(folders);
    const conn = await pools[0]!.getConnection();
    try {
      while ((await foldOnce(conn, 100)).batches > 0);
    } finally {
      await conn.release();
    }
    expect(results.flat().some((r) => r.checked)).toBe(true);
    const inserted = results.flat().reduce((n, r) => n + r.inserted, 0);
    const [count] = await query<{ n: number }>('SELECT COUNT(*) AS n FROM readings');
    expect(Number(count?.n)).toBe(4 * 600 * 4);
    expect(inserted).toBe(4 * 600 * 4);
    // No reading was taken for a conflict: they are the same readings.
    expect(
      results
        .flat()
        .flatMap((r) => r.outcomes.flat())
        .filter((o) => o === 'conflict'),
    ).toEqual([]);
    for (const table of ['readings_1m', 'readings_1h'] as const) {
      expect(await query(ROLLUP_CHECK_SQL(table))).toEqual([]);
      const [sum] = await query<{ n: number }>(`SELECT SUM(n) AS n FROM ${table}`);
      expect(Number(sum?.n)).toBe(4 * 600 * 4);
    }
    const [stored] = await query<{ n: number }>(
      "SELECT SUM(stored_readings) AS n FROM ingest_counters WHERE device_id LIKE 'c-%'",
    );
    expect(Number(stored?.n)).toBe(4 * 600);
  });

  it('different readings under the same seqs at once: each seq is stored once, the other one is a conflict', async () => {
    const [a, b] = [
      new BatchWriter(pools[0]!, { messageLog: 'off', log: silent }),
      new BatchWriter(pools[1]!, { messageLog: 'off', log: silent }),
    ];
    const [ra, rb] = await Promise.all([
      a.write([telemetry('x-1', 1, 200), telemetry('x-2', 1, 200)]),
      b.write([telemetry('x-2', 1, 200, 60_000), telemetry('x-1', 1, 200, 60_000)]),
    ]);
    for (const [i, d] of ['x-1', 'x-2'].entries()) {
      const oa = ra.outcomes[i]!;
      const ob = rb.outcomes[1 - i]!;
      for (let k = 0; k < 200; k++) expect([oa[k], ob[k]].sort()).toEqual(['conflict', 'stored']);
      if (ob.includes('conflict')) expect(rb.highestSeq.get(d)).toBe(200);
    }
  });
});

describe('values', () => {
  it('are stored exactly, so that a replay of awkward doubles is a duplicate and not a seq conflict', async () => {
    const w = new BatchWriter(pools[0]!, { messageLog: 'off', log: silent });
    const odd = [0.1 + 0.2, 1e-300, -1234.5678e10, 5e-324, 1.7976931348623157e308, -0, 2 ** 53, 1 / 3, 42];
    const item = (): IngestItem => ({
      ...telemetry('exact-1', 1, 1),
      readings: odd.map((v, i) => ({ seq: i + 1, measuredMs: base + i, values: { odd: v }, derived: {} })),
    });
    expect((await w.write([item()])).outcomes).toEqual([odd.map(() => 'stored')]);
    expect((await w.write([item()])).outcomes).toEqual([odd.map(() => 'duplicate')]);
    const rows = await query<{ value: number }>(
      "SELECT value FROM readings WHERE device_id = 'exact-1' ORDER BY seq",
    );
    expect(rows.map((r) => r.value)).toEqual(odd.map((v) => (Object.is(v, -0) ? 0 : v)));
  });
});

describe('message log rotation', () => {
  it('deletes rows older than the max age, then the oldest rows beyond the size limit', async () => {
    const now = Date.now();
    const sql = (ms: number) => new Date(ms).toISOString().slice(0, 23).replace('T', ' ');
    const payload = Buffer.alloc(840, 'x');
    const rows = Array.from({ length: 3000 }, (_, i) => [
      sql(now - (i < 1000 ? 10 * 86_400_000 : 60_000)),
      'rot-1',
      'telemetry',
      840,
      payload,
      0,
      'stored',
      null,
      null,
      1,
      1,
      0,
      0,
    ]);
    for (let i = 0; i < rows.length; i += 500) {
      const chunk = rows.slice(i, i + 500);
      await pools[0]!.query(
        'INSERT INTO message_log (received_at, device_id, topic_kind, bytes, payload, payload_truncated, outcome,' +
          ' reason, detail, readings, stored, duplicates, rejected) VALUES ' +
          chunk.map(() => '(?,?,?,?,?,?,?,?,?,?,?,?,?)').join(','),
        chunk.flat(),
      );
    }
    const conn = await pools[0]!.getConnection();
    try {
      // 1000 rows are 10 days old; the rest, at ~1000 bytes a row, exceed 1 MB by about 1000 rows.
      const r = await rotateMessageLog(conn, { maxAgeMs: 7 * 86_400_000, maxBytes: 1_000_000, now });
      expect(r.deletedByAge).toBe(1000);
      expect(r.deletedBySize).toBe(2000 - Math.floor(1_000_000 / 1000));
      expect(r.estimatedBytes).toBeLessThanOrEqual(1_000_000);
      const [left] = (await conn.query(
        'SELECT COUNT(*) AS n, MIN(received_at) AS oldest FROM message_log',
      )) as {
        n: number;
        oldest: Date;
      }[];
      expect(Number(left?.n)).toBe(1000);
      expect(left!.oldest.getTime()).toBeGreaterThan(now - 120_000);
      const again = await rotateMessageLog(conn, { maxAgeMs: 7 * 86_400_000, maxBytes: 1_000_000, now });
      expect(again.deletedByAge + again.deletedBySize).toBe(0);
    } finally {
      await conn.release();
    }
  });
});
