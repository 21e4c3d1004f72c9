import type { Pool } from 'mariadb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MariaDbServer, waitFor } from '@sensorfleet/tools/harness';
import { createPool, withTransaction } from '../src/index.js';

/**
 * withTransaction on a real server, through both kinds of pool createPool makes: one URL (the
 * connector's pool) and a URL list (a FailoverPool; here two "nodes" that are the same server).
 * Two connections at most and a short acquire timeout: a connection that was not given back shows as
 * the next transaction failing to get one.
 */
let server: MariaDbServer;
let url: string;

beforeAll(async () => {
  server = await MariaDbServer.start();
  url = await server.createDatabase();
});

afterAll(async () => {
  await server?.stop();
});

const kinds: [string, () => Pool][] = [
  ['the connector pool', () => createPool(url, { connectionLimit: 2, acquireTimeout: 1_000 })],
  ['a FailoverPool', () => createPool([url, url], { connectionLimit: 2, acquireTimeout: 1_000 })],
];

describe.each(kinds)('withTransaction on %s', (_, makePool) => {
  let pool: Pool;

  beforeAll(async () => {
    pool = makePool();
    await pool.query('CREATE TABLE IF NOT EXISTS t (id INT PRIMARY KEY)');
  });

  beforeEach(async () => {
    await pool.query('DELETE FROM t');
  });

  afterAll(async () => {
    await pool?.end();
  });

  /** Committed rows, read on a connection of their own. */
  const committed = async (): Promise<number[]> =>
    (
      (await server.query(`SELECT id FROM ${new URL(url).pathname.slice(1)}.t ORDER BY id`)) as {
        id: number;
      }[]
    ).map((r) => r.id);

  it("commits and returns fn's result", async () => {
    const result = await withTransaction(pool, async (conn) => {
      await conn.query('INSERT INTO t (id) VALUES (1), (2)');
      return 'done';
    });
    expect(result).toBe('done');
    expect(await committed()).toEqual([1, 2]);
  });

  it('rolls back on an error and rethrows that very error', async () => {
    const boom = new Error('boom');
    await expect(
      withTransaction(pool, async (conn) => {
        await conn.query('INSERT INTO t (id) VALUES (1)');
        throw boom;
      }),
    ).rejects.toBe(boom);
    expect(await committed()).toEqual([]);
  });

  it('rethrows a failed statement as it came, with nothing written', async () => {
    await pool.query('INSERT INTO t (id) VALUES (7)');
    const err: unknown = await withTransaction(pool, async (conn) => {
      await conn.query('INSERT INTO t (id) VALUES (1)');
      await conn.query('INSERT INTO t (id) VALUES (7)'); // duplicate key
    }).catch((e: unknown) => e);
    expect((err as { code?: string }).code).toBe('ER_DUP_ENTRY');
    expect(await committed()).toEqual([7]);
  });

  it('gives the connection back after every failure (the pool has two)', async () => {
    for (let i = 0; i < 10; i++) {
      await expect(
        withTransaction(pool, async (conn) => {
          await conn.query('INSERT INTO t (id) VALUES (?)', [i]);
          throw new Error(`failure ${i}`);
        }),
      ).rejects.toThrow(`failure ${i}`);
    }
    for (let i = 0; i < 10; i++) {
      await withTransaction(pool, (conn) => conn.query('INSERT INTO t (id) VALUES (?)', [100 + i]));
    }
    expect(await committed()).toEqual([100, 101, 102, 103, 104, 105, 106, 107, 108, 109]);
    expect(pool.activeConnections()).toBe(0);
  });

  it('lets fn roll back itself and return (nothing committed, no error)', async () => {
    const result = await withTransaction(pool, async (conn) => {
      await conn.query('INSERT INTO t (id) VALUES (1)');
      await conn.rollback();
      return 'nothing to do';
    });
    expect(result).toBe('nothing to do');
    expect(await committed()).toEqual([]);
  });

  it('rethrows the original error when the rollback fails too (connection gone)', async () => {
    const boom = new Error('boom');
    let rollbackError: unknown;
    await expect(
      withTransaction(pool, async (conn) => {
        await conn.query('INSERT INTO t (id) VALUES (1)');
        // The server ends this connection (and so rolls the transaction back): the ROLLBACK cannot be sent.
        await server.query(`KILL ${conn.threadId}`);
        await waitFor('the connection to close', 10_000, () => !conn.isValid());
        const rollback = conn.rollback.bind(conn);
        conn.rollback = () =>
          rollback().catch((e: unknown) => {
            rollbackError = e;
            throw e;
          });
        throw boom;
      }),
    ).rejects.toBe(boom);
    expect(rollbackError).toBeInstanceOf(Error);
    expect(rollbackError).not.toBe(boom);
    expect(await committed()).toEqual([]);
    // The dead connection went back (and was dropped): the pool still has both to give.
    await withTransaction(pool, (conn) => conn.query('INSERT INTO t (id) VALUES (2)'));
    expect(await committed()).toEqual([2]);
  });
});
