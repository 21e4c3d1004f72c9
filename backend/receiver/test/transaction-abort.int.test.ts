import { createPool, migrate } from '@sensorfleet/mariadb';
import * as mariadb from 'mariadb';
import type { Pool } from 'mariadb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MariaDbServer } from '@sensorfleet/tools/harness';
import { BatchWriter } from '../src/ingest/batch-writer.js';
import type { IngestItem } from '../src/ingest/ingest-item.js';
import { derivedOf } from '../src/intake/message-intake.js';
import { foldOnce } from '../src/fold/fold-writer.js';

/**
 * A batch transaction that the server aborts in the middle — a deadlock victim, or a lock wait timeout
 * with `innodb_rollback_on_timeout` — must leave nothing behind: MariaDB rolls the WHOLE transaction
 * back, and any statement the connection still sends after that runs on its own (autocommit) and
 * commits. The writer's own write path on one server (DATABASE_URL with one URL), with a second
 * connection (another replica) holding the rows it needs:
 *  - the blocker holds the `ingest_batches` row the writer's next batch id will take (inserted,
 *    uncommitted), so the writer's batch record waits for it, with the statements after it (message
 *    log, device registry) already issued;
 *  - then the blocker asks for a readings row the writer inserted: a deadlock, whose victim is the
 *    writer (the smaller transaction: the blocker inserted many rows first), or it simply waits for the
 *    writer's lock wait timeout.
 * The writer retries with a new batch id and succeeds; every message must then be logged ONCE, and a
 * batch that fails for good must have written nothing at all.
 */
const silent = { debug() {}, info() {}, warn() {}, error() {} } as never;
const base = Date.UTC(2026, 11, 3, 10, 0, 0);
const READ_COMMITTED = 'SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED';

function telemetry(deviceId: string, seqs: number): IngestItem {
  const readings = [];
  for (let seq = 1; seq <= seqs; seq++) {
    const values = { temperature: 20 + seq / 10, humidity: 40 + seq };
    readings.push({ seq, measuredMs: base + seq * 1000, values, derived: derivedOf(values) });
  }
  return {
    deviceId,
    kind: 'telemetry',
    receivedAt: base + 60_000,
    retained: false,
    bytes: 10,
    logPayload: Buffer.from('{}'),
    readings,
    rejected: [],
    registry: [],
    acks: true,
  };
}

function state(deviceId: string, rev: number): IngestItem {
  return {
    deviceId,
    kind: 'state',
    receivedAt: base + 60_000,
    retained: false,
    bytes: 10,
    logPayload: Buffer.from('{}'),
    readings: [],
    rejected: [],
    registry: [{ kind: 'state', state: { rev, mode: `m${rev}` }, at: base + 60_000, rev }],
    acks: false,
  };
}

interface Db {
  server: MariaDbServer;
  url: string;
  /** The writer's pool, as the receiver makes it (lock waits cut to 1 s). */
  pool: Pool;
  /** Another replica's connection. */
  blocker: mariadb.Connection;
}

async function open(serverArgs: string[] = []): Promise<Db> {
  const server = await MariaDbServer.start({ serverArgs });
  const url = await server.createDatabase();
  const pool = createPool(url, {
    connectionLimit: 2,
    initSql: [READ_COMMITTED, 'SET SESSION innodb_lock_wait_timeout = 1'],
  });
  await migrate(pool);
  const u = new URL(url);
  const blocker = await mariadb.createConnection({
    host: u.hostname,
    port: Number(u.port),
    user: 'root',
    database: u.pathname.slice(1),
    initSql: READ_COMMITTED,
  });
  return { server, url, pool, blocker };
}

async function close(db: Db | undefined): Promise<void> {
  if (!db) return;
  await db.blocker.end().catch(() => undefined);
  await db.pool.end().catch(() => undefined);
  await db.server.stop();
}

const count = async (db: Db, sql: string, params: unknown[]): Promise<number> =>
  Number(((await db.pool.query(sql, params)) as { n: number }[])[0]!.n);

/** What the writer left behind for one device (committed rows only: read from another connection). */
async function leftBehind(db: Db, deviceId: string) {
  return {
    logged: await count(db, 'SELECT COUNT(*) AS n FROM message_log WHERE device_id = ?', [deviceId]),
    readings: await count(db, 'SELECT COUNT(*) AS n FROM readings WHERE device_id = ?', [deviceId]),
    stateDevices: await count(
      db,
      'SELECT COUNT(*) AS n FROM devices WHERE id = ? AND last_state IS NOT NULL',
      [`${deviceId}-s`],
    ),
  };
}

/**
 * The blocker's transaction: many rows (so that it is the larger one, and the writer the deadlock
 * victim), then the `ingest_batches` row with the id the writer's next batch gets. Returns that id.
 */
async function holdNextBatchId(db: Db, heavyDevice: string): Promise<number> {
  // Outside the transaction, like the writer: a NEXTVAL that refills the sequence's cache inside a
  // transaction holds the sequence until that transaction ends.
  const [{ id, step }] = (await db.blocker.query(
    'SELECT NEXTVAL(ingest_batch_ids) AS id, @@auto_increment_increment AS step',
  )) as [{ id: number; step: number }];
  await db.blocker.beginTransaction();
  await db.blocker.query(
    "INSERT INTO readings (device_id, seq, sensor, value, measured_at, batch_id) SELECT ?, seq, 'x', 1, '2026-01-01', 0 FROM seq_1_to_2000",
    [heavyDevice],
  );
  const next = Number(id) + Number(step);
  await db.blocker.query(
    "INSERT INTO ingest_batches (id, created_at, ranges, counters, rejections, touch) VALUES (?, NOW(3), '[]', '[]', '[]', '[]')",
    [next],
  );
  return next;
}

/** Waits until a statement starting with `sql` waits (for the blocker's row) for more than 20 ms. */
async function untilWaiting(db: Db, sql: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const n = await count(
      db,
      'SELECT COUNT(*) AS n FROM information_schema.processlist WHERE info LIKE ? AND time_ms > 20',
      [`${sql}%`],
    );
    if (n > 0) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`no ${sql} waited for the blocker`);
}

const batchOf = (device: string) => [telemetry(device, 3), state(`${device}-s`, 1)];
/** Readings rows of batchOf's telemetry: every sent and derived value of its 3 readings. */
const ROWS = telemetry('x', 3).readings.reduce(
  (n, r) => n + Object.keys(r.values).length + Object.keys(r.derived).length,
  0,
);

describe('an aborted batch transaction on one server (no innodb_rollback_on_timeout)', () => {
  let db: Db;
  beforeAll(async () => {
    db = await open();
  });
  afterAll(() => close(db));

  it('a deadlock victim is retried and every message is logged once', async () => {
    const writer = new BatchWriter(db.pool, { messageLog: 'all', log: silent });
    await holdNextBatchId(db, 'heavy-dl');
    const written = writer.write(batchOf('dl'));
    await untilWaiting(db, 'INSERT INTO ingest_batches');
    // The blocker now waits for the writer's readings row: a cycle, and the writer is the victim.
    const blocked = db.blocker.query("SELECT * FROM readings WHERE device_id = 'dl' AND seq = 1 FOR UPDATE");
    const result = await written;
    await blocked;
    await db.blocker.rollback();
    expect(result.attempts).toBe(2);
    expect(await leftBehind(db, 'dl')).toEqual({ logged: 1, readings: ROWS, stateDevices: 1 });
  });

  it('a lock wait timeout keeps the transaction: retried, logged once', async () => {
    const writer = new BatchWriter(db.pool, { messageLog: 'all', log: silent });
    await holdNextBatchId(db, 'heavy-lw');
    const result = await writer.write(batchOf('lw'));
    await db.blocker.rollback();
    expect(result.attempts).toBe(2);
    expect(await leftBehind(db, 'lw')).toEqual({ logged: 1, readings: ROWS, stateDevices: 1 });
  });

  it('a duplicate key in the middle of the batch fails it and leaves nothing behind', async () => {
    const writer = new BatchWriter(db.pool, { messageLog: 'all', log: silent });
    await holdNextBatchId(db, 'heavy-dup');
    await db.blocker.commit();
    await expect(writer.write(batchOf('dup'))).rejects.toMatchObject({ errno: 1062 });
    expect(await leftBehind(db, 'dup')).toEqual({ logged: 0, readings: 0, stateDevices: 0 });
  });

  it('a fold run chosen as deadlock victim folds nothing and deletes no batch: the next run folds it', async () => {
    await db.pool.query('DELETE FROM ingest_batches'); // the other tests' batches: not this test's
    const writer = new BatchWriter(db.pool, { messageLog: 'off', log: silent });
    const { batchId } = await writer.write(batchOf('fold'));
    // The fold's last upsert (devices: first/last seen) waits for the blocker's device row; the blocker
    // then asks for a rollup row the fold already wrote. The DELETE of the folded batches comes after.
    await db.blocker.beginTransaction();
    await db.blocker.query(
      "INSERT INTO readings (device_id, seq, sensor, value, measured_at, batch_id) SELECT 'heavy-fold', seq, 'x', 1, '2026-01-01', 0 FROM seq_1_to_2000",
    );
    await db.blocker.query("UPDATE devices SET last_heartbeat_at = NOW(3) WHERE id = 'fold-s'");
    const conn = await db.pool.getConnection();
    try {
      const folding = foldOnce(conn, 50);
      await untilWaiting(db, 'INSERT INTO devices');
      const blocked = db.blocker.query("SELECT * FROM readings_1m WHERE device_id = 'fold' FOR UPDATE");
      await expect(folding).rejects.toMatchObject({ errno: 1213 });
      await blocked;
      await db.blocker.rollback();
      const rollupRows = async () =>
        count(db, "SELECT COALESCE(SUM(n), 0) AS n FROM readings_1m WHERE device_id = 'fold'", []);
      expect(await count(db, 'SELECT COUNT(*) AS n FROM ingest_batches WHERE id = ?', [batchId])).toBe(1);
      expect(await rollupRows()).toBe(0);
      expect(await foldOnce(conn, 50)).toMatchObject({ batches: 1, rows: ROWS });
      expect(await rollupRows()).toBe(ROWS);
    } finally {
      await conn.release();
    }
  });
});

describe('an aborted batch transaction on a server with innodb_rollback_on_timeout', () => {
  let db: Db;
  beforeAll(async () => {
    db = await open(['--innodb-rollback-on-timeout=ON']);
  });
  afterAll(() => close(db));

  it('a lock wait timeout rolls the whole transaction back: retried, logged once', async () => {
    const writer = new BatchWriter(db.pool, { messageLog: 'all', log: silent });
    await holdNextBatchId(db, 'heavy-rt');
    const result = await writer.write(batchOf('rt'));
    await db.blocker.rollback();
    expect(result.attempts).toBe(2);
    expect(await leftBehind(db, 'rt')).toEqual({ logged: 1, readings: ROWS, stateDevices: 1 });
  });
});
