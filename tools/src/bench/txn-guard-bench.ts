import { writeBenchJson } from './bench-output.js';
import path from 'node:path';
import * as mariadb from 'mariadb';
import type { Pool } from 'mariadb';
import { connectorPoolConfig, createPool, migrate } from '@sensorfleet/mariadb';
import { BatchWriter } from '@sensorfleet/receiver/ingest/batch-writer';
import type { IngestItem } from '@sensorfleet/receiver/ingest/ingest-item';
import type { MessageLogMode } from '@sensorfleet/receiver/ingest/message-log';
import { derivedOf } from '@sensorfleet/receiver/intake/message-intake';
import { MariaDbServer, REPO_ROOT } from '../harness/index.js';
import { formatTable, percentile, type Column } from './stats.js';
import { readingValues } from './telemetry.js';

/**
 * `node tools/dist/bench/txn-guard-bench.js`: what the transaction guard of createPool()
 * (backend/mariadb/src/transaction-guard.ts: statements one after the other inside a connection, no
 * pipelining) costs the receiver's batch writer, on one private MariaDB. The receiver's BatchWriter
 * writes the same batches through two pools on the same database, in alternating rounds:
 *  - `pipelined`: the connector pool as createPool() made it for one URL before the guard (the
 *    connector's default pipelining, no guard);
 *  - `guarded`: createPool() as the services use it now.
 * No MQTT, no device: only the database side of ingest, where the extra round trips are. Each round
 * empties the tables first and writes TXN_BENCH_ROWS rows (default 100,000) with 2 writers at once
 * (INGEST_CONCURRENCY's default) in batches of up to 5,000 rows (INGEST_MAX_ROWS). TXN_BENCH_ROUNDS
 * rounds per pool and shape (default 4). Results: bench-results/txn-guard.json.
 */
const ROWS = Number(process.env.TXN_BENCH_ROWS ?? 100_000);
const ROUNDS = Number(process.env.TXN_BENCH_ROUNDS ?? 4);
const BATCH_ROWS = 5_000;
const WRITERS = 2;
const silent = { debug() {}, info() {}, warn() {}, error() {} } as never;
const READ_COMMITTED = 'SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED';

interface Shape {
  name: string;
  readingsPerMessage: number;
  messageLog: MessageLogMode;
  /** Every message also changes its device's state (a registry upsert per batch). */
  withState: boolean;
}

const SHAPES: Shape[] = [
  {
    name: '1-reading messages, MESSAGE_LOG=rejected',
    readingsPerMessage: 1,
    messageLog: 'rejected',
    withState: false,
  },
  {
    name: '1-reading messages, MESSAGE_LOG=all, states',
    readingsPerMessage: 1,
    messageLog: 'all',
    withState: true,
  },
  {
    name: '50-reading messages, MESSAGE_LOG=rejected',
    readingsPerMessage: 50,
    messageLog: 'rejected',
    withState: false,
  },
];

const base = Date.UTC(2026, 11, 1);

function message(deviceId: string, fromSeq: number, count: number, withState: boolean): IngestItem {
  const readings = [];
  for (let seq = fromSeq; seq < fromSeq + count; seq++) {
    const values = readingValues(seq);
    readings.push({ seq, measuredMs: base + seq * 1000, values, derived: derivedOf(values) });
  }
  return {
    deviceId,
    kind: 'telemetry',
    receivedAt: base + fromSeq * 1000,
    retained: false,
    bytes: 100 * count,
    logPayload: Buffer.from('{"v":1}'),
    readings,
    rejected: [],
    registry: withState
      ? [{ kind: 'state', state: { rev: fromSeq }, at: base + fromSeq * 1000, rev: fromSeq }]
      : [],
    acks: true,
  };
}

/** The batches of one round: messages of 1,000 devices in turn, cut at BATCH_ROWS rows. */
function batchesOf(shape: Shape): IngestItem[][] {
  const rowsPerReading = 3 + Object.keys(derivedOf(readingValues(1))).length;
  const perMessage = rowsPerReading * shape.readingsPerMessage;
  const messages = Math.ceil(ROWS / perMessage);
  const batches: IngestItem[][] = [];
  let batch: IngestItem[] = [];
  for (let m = 0; m < messages; m++) {
    const device = `bench-${m % 1000}`;
    const fromSeq = Math.floor(m / 1000) * shape.readingsPerMessage + 1;
    batch.push(message(device, fromSeq, shape.readingsPerMessage, shape.withState));
    if ((batch.length + 1) * perMessage > BATCH_ROWS) {
      batches.push(batch);
      batch = [];
    }
  }
  if (batch.length) batches.push(batch);
  return batches;
}

interface Row {
  shape: string;
  pool: 'pipelined' | 'guarded';
  round: number;
  rows: number;
  seconds: number;
  rowsPerS: number;
  batchP50Ms: number;
}

async function round(
  pool: Pool,
  shape: Shape,
  batches: IngestItem[][],
): Promise<Omit<Row, 'shape' | 'pool' | 'round'>> {
  for (const table of ['readings', 'ingest_batches', 'message_log', 'devices'])
    await pool.query(`TRUNCATE ${table}`);
  const writer = new BatchWriter(pool, { messageLog: shape.messageLog, log: silent });
  const times: number[] = [];
  let next = 0;
  let rows = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: WRITERS }, async () => {
      while (next < batches.length) {
        const batch = batches[next++]!;
        const t = performance.now();
        const result = await writer.write(batch);
        times.push(performance.now() - t);
        rows += result.inserted;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  times.sort((a, b) => a - b);
  return {
    rows,
    seconds,
    rowsPerS: Math.round(rows / seconds),
    batchP50Ms: Number(times[times.length >> 1]!.toFixed(2)),
  };
}

const server = await MariaDbServer.start();
const rows: Row[] = [];
try {
  const url = await server.createDatabase();
  const options = { connectionLimit: WRITERS + 1, initSql: READ_COMMITTED };
  const pools = {
    pipelined: mariadb.createPool(connectorPoolConfig(url, { ...options, pipelining: true })),
    guarded: createPool(url, options),
  };
  try {
    await migrate(pools.guarded);
    for (const shape of SHAPES) {
      const batches = batchesOf(shape);
      // A warm-up round on each (prepared statements, buffer pool), not counted.
      for (const pool of Object.values(pools)) await round(pool, shape, batches);
      for (let r = 1; r <= ROUNDS; r++) {
        for (const name of (r % 2 ? ['pipelined', 'guarded'] : ['guarded', 'pipelined']) as Row['pool'][]) {
          const row = {
            shape: shape.name,
            pool: name,
            round: r,
            ...(await round(pools[name], shape, batches)),
          };
          rows.push(row);
          process.stderr.write(`[txn-guard] ${JSON.stringify(row)}\n`);
        }
      }
    }
  } finally {
    await Promise.allSettled(Object.values(pools).map((p) => p.end()));
  }
} finally {
  await server.stop();
}

const median = (xs: number[]): number => percentile(xs, 50);
interface Summary {
  shape: string;
  pipelined: number;
  guarded: number;
  ratio: number;
  pipelinedBatchMs: number;
  guardedBatchMs: number;
}
const summary: Summary[] = SHAPES.map((shape) => {
  const of = (pool: Row['pool']) => rows.filter((r) => r.shape === shape.name && r.pool === pool);
  const pipelined = median(of('pipelined').map((r) => r.rowsPerS));
  const guarded = median(of('guarded').map((r) => r.rowsPerS));
  return {
    shape: shape.name,
    pipelined: Math.round(pipelined),
    guarded: Math.round(guarded),
    ratio: Number((guarded / pipelined).toFixed(3)),
    pipelinedBatchMs: median(of('pipelined').map((r) => r.batchP50Ms)),
    guardedBatchMs: median(of('guarded').map((r) => r.batchP50Ms)),
  };
});
const columns: Column<Summary>[] = [
  { title: 'shape', value: (r) => r.shape, align: 'left' },
  { title: 'pipelined rows/s', value: (r) => String(r.pipelined) },
  { title: 'guarded rows/s', value: (r) => String(r.guarded) },
  { title: 'guarded/pipelined', value: (r) => r.ratio.toFixed(3) },
  { title: 'batch p50 ms pipelined', value: (r) => r.pipelinedBatchMs.toFixed(2) },
  { title: 'batch p50 ms guarded', value: (r) => r.guardedBatchMs.toFixed(2) },
];
process.stdout.write(
  `medians of ${ROUNDS} rounds of ${ROWS} rows per pool and shape\n${formatTable(columns, summary)}\n`,
);
const out = path.join(REPO_ROOT, 'bench-results', 'txn-guard.json');
writeBenchJson(out, { measuredAt: new Date().toISOString(), rowsPerRound: ROWS, summary, rows });
