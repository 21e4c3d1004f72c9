import { createPool } from '@sensorfleet/mariadb';
import * as mariadb from 'mariadb';
import type { Pool } from 'mariadb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MariaDbServer } from '@sensorfleet/tools/harness';

/**
 * createPool() with one DATABASE_URL (the default deployment) on a real MariaDB: a transaction the
 * server aborts in the middle (a deadlock victim) commits nothing, whatever its caller does next; a
 * statement error that leaves the transaction open (duplicate key, lock wait timeout without
 * innodb_rollback_on_timeout) lets the caller go on. The pattern every caller uses: statements issued
 * together (Promise.all), then COMMIT. The receiver's own batch is covered by
 * backend/receiver/test/transaction-abort.int.test.ts.
 */
let server: MariaDbServer;
let pool: Pool;
let other: mariadb.Connection;

beforeAll(async () => {
  server = await MariaDbServer.start();
  const url = await server.createDatabase();
  pool = createPool(url, { connectionLimit: 2, initSql: 'SET SESSION innodb_lock_wait_timeout = 1' });
  await pool.query('CREATE TABLE item (id INT PRIMARY KEY, v INT NOT NULL)');
  await pool.query('CREATE TABLE mark (id INT PRIMARY KEY)');
  await pool.query('CREATE TABLE bulk (id INT PRIMARY KEY)');
  await pool.query('INSERT INTO item VALUES (1, 0), (2, 0)');
  const u = new URL(url);
  other = await mariadb.createConnection({
    host: u.hostname,
    port: Number(u.port),
    user: 'root',
    database: u.pathname.slice(1),
  });
});
afterAll(async () => {
  await other?.end().catch(() => undefined);
  await pool?.end().catch(() => undefined);
  await server?.stop();
});

beforeEach(async () => {
  await pool.query('DELETE FROM mark');
});

const marks = async (): Promise<number[]> =>
  ((await pool.query('SELECT id FROM mark ORDER BY id')) as { id: number }[]).map((r) => r.id);

/** Waits until a statement on `item` waits for a row lock for more than 20 ms. */
async function untilWaiting(): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const rows = (await pool.query(
      "SELECT COUNT(*) AS n FROM information_schema.processlist WHERE info LIKE 'UPDATE item%' AND time_ms > 20",
    )) as { n: number }[];
    if (Number(rows[0]!.n) > 0) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('the transaction never waited for the other connection');
}

/**
 * Our transaction updates item 1, then issues [UPDATE item 2, INSERT mark 1, INSERT mark 2] at once;
 * the other connection (the larger transaction: it inserted 1000 rows first) holds item 2 and then
 * asks for item 1. Our UPDATE of item 2 is the deadlock victim; resolves to what our statements gave.
 */
async function deadlockedTransaction(conn: mariadb.PoolConnection): Promise<PromiseSettledResult<unknown>[]> {
  await other.beginTransaction();
  await other.query('INSERT INTO bulk SELECT seq FROM seq_1_to_1000');
  await other.query('UPDATE item SET v = v + 1 WHERE id = 2');
  await conn.beginTransaction();
  await conn.query('UPDATE item SET v = v + 1 WHERE id = 1');
  const ours = Promise.allSettled([
    conn.query('UPDATE item SET v = v + 1 WHERE id = 2'),
    conn.query('INSERT INTO mark VALUES (1)'),
    conn.query('INSERT INTO mark VALUES (2)'),
  ]);
  await untilWaiting();
  await other.query('UPDATE item SET v = v + 1 WHERE id = 1');
  const settled = await ours;
  await other.rollback();
  return settled;
}

describe('a transaction on one server that the server aborts in the middle', () => {
  it('runs none of the statements issued after the one that failed', async () => {
    const conn = await pool.getConnection();
    try {
      const settled = await deadlockedTransaction(conn);
      expect(settled.map((s) => s.status)).toEqual(['rejected', 'rejected', 'rejected']);
      expect(settled[0]).toMatchObject({ reason: { errno: 1213 } });
      await conn.rollback();
    } finally {
      await conn.release();
    }
    expect(await marks()).toEqual([]);
  });

  it('cannot be committed by a caller that ignored the failure', async () => {
    const conn = await pool.getConnection();
    try {
      await deadlockedTransaction(conn);
      // Without the guard the connector skips this COMMIT (the server reports no open transaction)
      // and resolves, as if everything had committed.
      await expect(conn.commit()).rejects.toMatchObject({ errno: 1213 });
      // After the rollback the connection works as before.
      await conn.rollback();
      expect(await conn.query('SELECT 1 AS one')).toEqual([{ one: 1 }]);
    } finally {
      await conn.release();
    }
    expect(await marks()).toEqual([]);
  });
});

describe('a statement error that leaves the transaction open', () => {
  it('a duplicate key: the caller may go on and commit the rest', async () => {
    const conn = await pool.getConnection();
    try {
      await conn.beginTransaction();
      const settled = await Promise.allSettled([
        conn.query('INSERT INTO mark VALUES (10)'),
        conn.query('INSERT INTO item VALUES (1, 0)'),
        conn.query('INSERT INTO mark VALUES (11)'),
      ]);
      expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
      await conn.commit();
    } finally {
      await conn.release();
    }
    expect(await marks()).toEqual([10, 11]);
  });

  it('a lock wait timeout (innodb_rollback_on_timeout off): the transaction stays, the rest commits', async () => {
    await other.beginTransaction();
    await other.query('UPDATE item SET v = v + 1 WHERE id = 2');
    const conn = await pool.getConnection();
    try {
      await conn.beginTransaction();
      const settled = await Promise.allSettled([
        conn.query('INSERT INTO mark VALUES (20)'),
        conn.query('UPDATE item SET v = v + 1 WHERE id = 2'),
        conn.query('INSERT INTO mark VALUES (21)'),
      ]);
      expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
      expect(settled[1]).toMatchObject({ reason: { errno: 1205 } });
      await conn.commit();
    } finally {
      await conn.release();
      await other.rollback();
    }
    expect(await marks()).toEqual([20, 21]);
  });
});
