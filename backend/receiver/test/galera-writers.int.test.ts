import { createPool, migrate } from '@sensorfleet/mariadb';
import type { Pool } from 'mariadb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GaleraCluster } from '@sensorfleet/tools/harness';
import { BatchWriter, type BatchResult } from '../src/ingest/batch-writer.js';
import type { IngestItem } from '../src/ingest/ingest-item.js';
import { foldOnce, pendingBatches } from '../src/fold/fold-writer.js';
import { ROLLUP_CHECK_SQL } from './support/receiver-rig.js';
import { telemetryRange } from './support/items.js';

/**
 * Two receivers writing through DIFFERENT Galera nodes (what happens for a moment when one replica failed
 * over before the other): their overlapping batch transactions lose certification at commit (1213) and
 * are retried by the BatchWriter; every reading is still stored and counted once. And two fold jobs on
 * two nodes at once (GET_LOCK, their single-runner lock, is node-local on Galera): each batch is folded
 * once, because the fold deletes the batch rows in its transaction and certification lets one delete win.
 */
const silent = { debug() {}, info() {}, warn() {}, error() {} } as never;
const base = Date.UTC(2026, 10, 23, 9, 58, 0);

const telemetry = (deviceId: string, from: number, to: number): IngestItem =>
  telemetryRange(deviceId, from, to, { baseMs: base });

let cluster: GaleraCluster;
let pools: Pool[] = [];
beforeAll(async () => {
  cluster = await GaleraCluster.start({ nodes: 3 });
  const url = await cluster.createDatabase();
  const db = new URL(url.split(',')[0]!).pathname.slice(1);
  // As two replicas whose DATABASE_URL lists start with different nodes (one failed over already).
  pools = [
    [0, 1, 2],
    [1, 0, 2],
  ].map((order) =>
    createPool(cluster.databaseUrl(db, order), {
      connectionLimit: 3,
      initSql: 'SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED',
    }),
  );
  await migrate(pools[0]!);
}, 240_000);
afterAll(async () => {
  await Promise.allSettled(pools.map((p) => p.end()));
  await cluster?.destroy();
});

describe('batch writers on two Galera nodes at once', () => {
  it('retry lost certifications and store every reading once', async () => {
    const [a, b] = pools.map((p) => new BatchWriter(p, { messageLog: 'off', log: silent }));
    const run = async (
      w: BatchWriter,
      devices: string[],
      step: number,
      reverse: boolean,
    ): Promise<BatchResult[]> => {
      const out = [];
      for (let from = 1; from <= 600; from += step) {
        const items = devices.map((d) => telemetry(d, from, Math.min(600, from + step - 1)));
        out.push(await w.write(reverse ? items.reverse() : items));
      }
      return out;
    };
    // Whether two transactions overlap at commit is up to the scheduler: on a loaded machine one round can
    // pass without a single lost certification, and then the retry path was not exercised. Up to five
    // rounds on fresh devices, until one has retried; every round's readings are checked below.
    const results: BatchResult[] = [];
    let rounds = 0;
    while (rounds < 5 && !results.some((r) => r.attempts > 1)) {
      rounds++;
      const devices = ['g-1', 'g-2', 'g-3', 'g-4'].map((d) => `${d}-r${rounds}`);
      results.push(...(await Promise.all([run(a!, devices, 40, false), run(b!, devices, 25, true)])).flat());
    }
    const conn = await pools[0]!.getConnection();
    try {
      while ((await foldOnce(conn, 100)).batches > 0);
    } finally {
      await conn.release();
    }
    const retried = results.filter((r) => r.attempts > 1).length;
    expect(retried).toBeGreaterThan(0);
    const query = async <T>(sql: string) => (await pools[1]!.query(sql)) as T[];
    // Nothing of an aborted transaction committed on its own (a row of the wrong statement included).
    const bySensor = await query<{ sensor: string; n: number }>(
      'SELECT sensor, COUNT(*) AS n FROM readings GROUP BY sensor ORDER BY sensor',
    );
    expect(bySensor.map((r) => [r.sensor, Number(r.n)])).toEqual(
      ['dew_point', 'heat_index', 'humidity', 'temperature'].map((s) => [s, rounds * 2400]),
    );
    const [count] = await query<{ n: number }>('SELECT COUNT(*) AS n FROM readings');
    expect(Number(count?.n)).toBe(rounds * 4 * 600 * 4);
    expect(results.reduce((n, r) => n + r.inserted, 0)).toBe(rounds * 4 * 600 * 4);
    expect(results.flatMap((r) => r.outcomes.flat()).filter((o) => o === 'conflict')).toEqual([]);
    expect(await query(ROLLUP_CHECK_SQL('readings_1m'))).toEqual([]);
    const [stored] = await query<{ n: number }>('SELECT SUM(stored_readings) AS n FROM ingest_counters');
    expect(Number(stored?.n)).toBe(rounds * 4 * 600);
    console.log(
      `[galera] ${results.length} batches on two nodes in ${rounds} round(s): ${retried} retried after losing certification`,
    );
  });

  it('folds each batch once with two fold jobs on two nodes at once', async () => {
    const writer = new BatchWriter(pools[0]!, { messageLog: 'off', log: silent });
    const devices = ['f-1', 'f-2', 'f-3'];
    for (let from = 1; from <= 300; from += 10)
      await writer.write(devices.map((d) => telemetry(d, from, from + 9)));
    const conns = await Promise.all(pools.map((p) => p.getConnection()));
    let lost = 0;
    try {
      expect(await pendingBatches(conns[0]!)).toBe(30);
      // Small folds, so the two jobs overlap on the same batches many times.
      const job = async (i: number) => {
        for (;;) {
          try {
            if ((await foldOnce(conns[i]!, 3)).batches === 0) return;
          } catch (err) {
            const e = err as { errno?: number; message: string };
            if (e.errno !== 1213 && !/folded by someone else/.test(e.message)) throw err;
            lost++;
          }
        }
      };
      await Promise.all([job(0), job(1)]);
      // The other node may not have applied the last fold yet when its job saw nothing pending.
      while ((await foldOnce(conns[0]!, 100)).batches > 0);
    } finally {
      await Promise.all(conns.map((c) => c.release()));
    }
    const query = async <T>(sql: string) => (await pools[1]!.query(sql)) as T[];
    expect(await query(ROLLUP_CHECK_SQL('readings_1m'))).toEqual([]);
    expect(await query(ROLLUP_CHECK_SQL('readings_1h'))).toEqual([]);
    const stored = await query<{ device_id: string; n: number }>(
      "SELECT device_id, SUM(stored_readings) AS n FROM ingest_counters WHERE device_id LIKE 'f-%' GROUP BY device_id ORDER BY device_id",
    );
    expect(stored.map((r) => [r.device_id, Number(r.n)])).toEqual(devices.map((d) => [d, 300]));
    console.log(
      `[galera] two fold jobs on two nodes: ${lost} folds lost to the other, every batch counted once`,
    );
  });
});
