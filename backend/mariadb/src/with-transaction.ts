import type { PoolConnection } from 'mariadb';

/** Where a transaction's connection comes from: the connector's Pool or a FailoverPool (createPool). */
export interface ConnectionSource {
  getConnection(): Promise<PoolConnection>;
}

/**
 * Runs `fn` in one transaction on a connection of its own and returns what it returned, once committed.
 *
 * Any error, from `fn` or from COMMIT (a conflict, or a transaction the server aborted in the middle:
 * transaction-guard.ts), rolls back and is rethrown as it was: a ROLLBACK that fails too (the
 * connection is gone, and the server has rolled back anyway) must not hide why the transaction failed.
 * The connection goes back to the pool either way.
 *
 * `fn` may end the transaction early with `conn.rollback()` (nothing to do after all): the COMMIT after
 * it is then not sent, since the connector sends none when the server reports no open transaction.
 */
export async function withTransaction<T>(
  pool: ConnectionSource,
  fn: (conn: PoolConnection) => Promise<T>,
): Promise<T> {
  const conn = await pool.getConnection();
  try {
    await conn.beginTransaction();
    const result = await fn(conn);
    await conn.commit();
    return result;
  } catch (err) {
    await conn.rollback().catch(() => undefined);
    throw err;
  } finally {
    await conn.release();
  }
}
